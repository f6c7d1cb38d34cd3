"""Mutation testing of the engine and the audit ledger: do the tests notice a wrong program?

Usage:
    python bench/mutants.py [--target engine|ledger] [--module PATH ...] [--sample N]
                            [--seed S] [--timeout SECONDS] [--list] [--output FILE]
                            [--rerun RESULTS.json] [--tests PATH ...]

For each module of the target, the script finds every place where a classic mutation applies:

- comparison flips and boundary shifts (`<` and `<=`, `>` and `>=`, `==` and `!=`, `in` and
  `not in`, `is` and `is not`);
- boolean operators (`and` and `or`), a dropped `not`, an `if` whose test is negated;
- arithmetic operators (`+` and `-`, `*` and `/`, `//` and `/`);
- constants (an integer n becomes n + 1, `True` and `False` swap);
- return values removed (`return x` becomes `return None`), `break` and `continue` swapped.

It applies them one at a time to a copy of the repository (the files git tracks, in a temporary
directory; the working tree is never changed), runs the target's tests against each mutant and
reports, per module, how many mutants the tests killed (a test failed, errored or hung) and which
survived. Docstrings, type annotations and `TYPE_CHECKING` blocks are not mutated.

Tests run in a child process forked from a parent that has already imported pytest and
Hypothesis, with `-x` (stop at the first failure): that makes a killed mutant cost about one
second. Hypothesis runs derandomized and without shrinking, so a run is reproducible and a kill
is reported as soon as it is found.

Targets (the tests are the ones that exercise the module without anything else in between):
- engine: `periop/drugs/engine/*.py` against `tests/unit/knowledge` and `tests/unit/engine`
  (pure Python, no database, no Django);
- ledger: `periop/audit/chain.py` and `periop/audit/verification.py` against
  `tests/db/test_audit_tampering.py` and `tests/integration/test_audit_ledger.py` (Django on
  SQLite; SECRET_KEY, AUDIT_HMAC_KEY and DJANGO_DEBUG default to throw-away test values).

Results are printed and written as JSON to bench/results/mutants-<target>.json (git-ignored).
`--rerun` runs again only the mutants that survived in an earlier results file (after adding
tests that should kill them). `--tests` runs only the given test files or directories instead of
the target's: for a module that only those tests reach, the same verdicts in a fraction of the
time; for any module, a mutant they kill is killed (a survivor may still die to the full list).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

_PROPERTY_FILES = (
    "test_properties.py",
    "test_reference_oracle.py",
    "test_reference_oracle_drugs.py",
)

TARGETS: dict[str, dict[str, object]] = {
    "engine": {
        "modules": sorted(
            str(path.relative_to(REPO_ROOT))
            for path in (REPO_ROOT / "periop" / "drugs" / "engine").glob("*.py")
        ),
        # Example tests first and the Hypothesis properties last: with -x a mutant that an
        # example test kills costs a second or two.
        "tests": [
            "tests/unit/knowledge",
            *sorted(
                str(path.relative_to(REPO_ROOT))
                for path in (REPO_ROOT / "tests" / "unit" / "engine").glob("test_*.py")
                if path.name not in _PROPERTY_FILES
            ),
            *(f"tests/unit/engine/{name}" for name in _PROPERTY_FILES),
        ],
        "pytest": ["-p", "no:django", "--confcutdir=tests/unit"],
        "env": {},
    },
    "ledger": {
        "modules": ["periop/audit/chain.py", "periop/audit/verification.py"],
        "tests": ["tests/db/test_audit_tampering.py", "tests/integration/test_audit_ledger.py"],
        "pytest": [],
        "env": {
            "SECRET_KEY": "mutation-testing-only",
            "AUDIT_HMAC_KEY": "mutation-testing-only-audit-key",
            "DJANGO_DEBUG": "1",
        },
    },
}

# Loaded into every test run of a mutant: reproducible examples, no time spent shrinking.
_PLUGIN = """\
import os

from hypothesis import Phase, settings

settings.register_profile(
    "mutants", derandomize=True, database=None, phases=[Phase.explicit, Phase.generate]
)


def pytest_runtest_logreport(report):
    # The first test that fails names the killer of the mutant.
    path = os.environ.get("MUTANTS_KILLER_FILE")
    if report.failed and path and not os.path.exists(path):
        with open(path, "w", encoding="utf-8") as killer:
            killer.write(report.nodeid)
"""
_PLUGIN_NAME = "_mutants_hypothesis_profile"


# ---------------------------------------------------------------------------------------------
# Finding and applying mutations
# ---------------------------------------------------------------------------------------------

_COMPARISONS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_ARITHMETIC: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
}


@dataclass(frozen=True)
class Site:
    """One mutation: the n-th node of a kind in walk order, and what is done to it."""

    module: str
    line: int
    kind: str
    node_index: int  # position of the node in `_nodes(tree)`
    operand: int  # which operator of a comparison
    description: str


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """ids of nodes never mutated: docstrings, annotations, TYPE_CHECKING blocks, __all__."""
    skipped: set[int] = set()

    def skip(node: ast.AST | None) -> None:
        if node is not None:
            skipped.update(id(child) for child in ast.walk(node))

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            skip(body[0])
        if isinstance(node, ast.arg):
            skip(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            skip(node.returns)
        elif isinstance(node, ast.AnnAssign):
            skip(node.annotation)
        elif _never_mutated(node):
            skip(node)
    return skipped


def _never_mutated(node: ast.AST) -> bool:
    """A `TYPE_CHECKING` block or the `__all__` list."""
    if isinstance(node, ast.If):
        return "TYPE_CHECKING" in ast.unparse(node.test)
    return isinstance(node, ast.Assign) and any(
        isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
    )


def _nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node in a deterministic order (the same for two parses of the same source)."""
    return list(ast.walk(tree))


def find_sites(module: str, source: str) -> list[Site]:
    tree = ast.parse(source)
    skipped = _skipped_nodes(tree)
    sites: list[Site] = []

    def add(index: int, node: ast.AST, kind: str, description: str, operand: int = 0) -> None:
        line = getattr(node, "lineno", 0)
        sites.append(Site(module, line, kind, index, operand, description))

    for index, node in enumerate(_nodes(tree)):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Compare):
            for position, op in enumerate(node.ops):
                replacement = _COMPARISONS.get(type(op))
                if replacement is not None:
                    add(
                        index,
                        node,
                        "comparison",
                        f"{type(op).__name__} -> {replacement.__name__}",
                        position,
                    )
        elif isinstance(node, ast.BoolOp):
            other = "Or" if isinstance(node.op, ast.And) else "And"
            add(index, node, "boolean", f"{type(node.op).__name__} -> {other}")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            add(index, node, "negation", "not x -> x")
        elif isinstance(node, ast.If):
            add(index, node, "negation", "if x -> if not x")
        elif isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            operator = _ARITHMETIC[type(node.op)]
            add(
                index,
                node,
                "arithmetic",
                f"{type(node.op).__name__} -> {operator.__name__}",
            )
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                add(index, node, "constant", f"{node.value} -> {not node.value}")
            elif isinstance(node.value, int):
                add(index, node, "constant", f"{node.value} -> {node.value + 1}")
        elif isinstance(node, ast.Return) and node.value is not None:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                add(index, node, "return", "return x -> return None")
        elif isinstance(node, ast.Break):
            add(index, node, "loop", "break -> continue")
        elif isinstance(node, ast.Continue):
            add(index, node, "loop", "continue -> break")
    return sites


def mutate(source: str, site: Site) -> str:
    """The module's source with `site` applied (re-parsed, so sites stay independent)."""
    tree = ast.parse(source)
    node = _nodes(tree)[site.node_index]
    if site.kind == "comparison":
        assert isinstance(node, ast.Compare)
        node.ops[site.operand] = _COMPARISONS[type(node.ops[site.operand])]()
    elif site.kind == "boolean":
        assert isinstance(node, ast.BoolOp)
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif site.kind == "negation" and isinstance(node, ast.UnaryOp):
        _replace(tree, node, node.operand)
    elif site.kind == "negation":
        assert isinstance(node, ast.If)
        node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)
    elif site.kind == "arithmetic":
        assert isinstance(node, ast.BinOp)
        node.op = _ARITHMETIC[type(node.op)]()
    elif site.kind == "constant":
        assert isinstance(node, ast.Constant)
        value = node.value
        assert isinstance(value, int)  # the constant mutants are of booleans and integers
        node.value = (not value) if isinstance(value, bool) else value + 1
    elif site.kind == "return":
        assert isinstance(node, ast.Return)
        node.value = ast.Constant(value=None)
    elif site.kind == "loop":
        _replace(tree, node, ast.Continue() if isinstance(node, ast.Break) else ast.Break())
    else:
        raise ValueError(site.kind)
    return ast.unparse(ast.fix_missing_locations(tree))


def _replace(tree: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
                return
            if isinstance(value, list) and any(item is old for item in value):
                value[[item is old for item in value].index(True)] = new
                return
    raise LookupError("node not found")


# ---------------------------------------------------------------------------------------------
# Running the tests against a mutant
# ---------------------------------------------------------------------------------------------


@dataclass
class Result:
    module: str
    line: int
    kind: str
    description: str
    outcome: str  # "killed", "survived", "timeout", "error"
    seconds: float
    killed_by: str  # the first test that failed, if any


def tracked_copy(destination: Path) -> None:
    """The files git tracks (as they are in the working tree), copied to `destination`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, check=True, capture_output=True
    ).stdout
    for name in listed.decode().split("\0"):
        if not name:
            continue
        source = REPO_ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (destination / f"{_PLUGIN_NAME}.py").write_text(_PLUGIN, encoding="utf-8")


def run_tests(workdir: Path, arguments: list[str], timeout: float) -> tuple[int | None, float]:
    """pytest's exit status in a forked child (None on timeout), and the seconds it took."""
    import hypothesis  # noqa: F401  (imported once in the parent, shared by every child)
    import pytest

    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: fresh imports of the project, from the copy
        status = 3
        try:
            os.chdir(workdir)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            sys.path.insert(0, str(workdir))
            for name in list(sys.modules):
                if name == "periop" or name.startswith(("periop.", "tests")):
                    del sys.modules[name]
            status = int(pytest.main(arguments))
        finally:
            os._exit(status)
    deadline = started + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), time.monotonic() - started
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None, time.monotonic() - started
        time.sleep(0.05)


def pytest_arguments(target: dict[str, object], tests: list[str] | None = None) -> list[str]:
    return [
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        _PLUGIN_NAME,
        "--hypothesis-profile=mutants",
        *target["pytest"],
        *(tests or target["tests"]),  # type: ignore[misc]
    ]


def outcome_of(status: int | None) -> str:
    if status is None:
        return "timeout"
    if status == 0:
        return "survived"
    if status == 1:
        return "killed"
    return "error"  # collection or internal error: the mutant broke an import


def survivors_of(results_file: Path) -> set[tuple[str, int, str, str]]:
    """The mutants that survived in an earlier run, as (module, line, kind, description)."""
    results = json.loads(results_file.read_text(encoding="utf-8"))
    return {
        (result["module"], result["line"], result["kind"], result["description"])
        for result in results
        if result["outcome"] == "survived"
    }


def run(
    target_name: str,
    modules: list[str],
    sample: int | None,
    seed: int,
    timeout: float | None,
    only: set[tuple[str, int, str, str]] | None = None,
    tests: list[str] | None = None,
) -> Iterator[Result | str]:
    target = TARGETS[target_name]
    for name, value in target["env"].items():  # type: ignore[attr-defined]
        os.environ.setdefault(name, value)
    sys.dont_write_bytecode = True  # a mutant must never be read from a stale .pyc
    arguments = pytest_arguments(target, tests)
    sources = {module: (REPO_ROOT / module).read_text(encoding="utf-8") for module in modules}
    sites = [site for module in modules for site in find_sites(module, sources[module])]
    if only is not None:
        sites = [s for s in sites if (s.module, s.line, s.kind, s.description) in only]
    if sample is not None and sample < len(sites):
        sites = sorted(random.Random(seed).sample(sites, sample), key=lambda s: (s.module, s.line))
    with tempfile.TemporaryDirectory(prefix="mutants-") as directory:
        workdir = Path(directory)
        tracked_copy(workdir)
        os.environ.pop("MUTANTS_KILLER_FILE", None)
        status, baseline = run_tests(workdir, arguments, timeout=3600)
        if status != 0:
            raise SystemExit(f"The tests fail without any mutant (exit status {status}).")
        limit = timeout if timeout is not None else max(60.0, 4 * baseline)
        yield f"{len(sites)} mutants; unmutated tests pass in {baseline:.1f} s; limit {limit:.0f} s"
        for site in sites:
            path = workdir / site.module
            path.write_text(mutate(sources[site.module], site), encoding="utf-8")
            killer = workdir / "killed-by.txt"
            killer.unlink(missing_ok=True)
            os.environ["MUTANTS_KILLER_FILE"] = str(killer)
            try:
                status, seconds = run_tests(workdir, arguments, limit)
            finally:
                path.write_text(sources[site.module], encoding="utf-8")
            killed_by = killer.read_text(encoding="utf-8") if killer.exists() else ""
            yield Result(
                site.module,
                site.line,
                site.kind,
                site.description,
                outcome_of(status),
                seconds,
                killed_by,
            )


def summary(results: list[Result]) -> str:
    lines = ["| module | killed | total | kill rate |", "|---|---|---|---|"]
    for module in sorted({result.module for result in results}):
        mine = [result for result in results if result.module == module]
        killed = sum(result.outcome != "survived" for result in mine)
        lines.append(f"| `{module}` | {killed} | {len(mine)} | {100 * killed / len(mine):.1f} % |")
    killed = sum(result.outcome != "survived" for result in results)
    if results:
        lines.append(f"| all | {killed} | {len(results)} | {100 * killed / len(results):.1f} % |")
    survivors = [result for result in results if result.outcome == "survived"]
    if survivors:
        lines += ["", "Survivors:"]
        lines += [
            f"- `{result.module}:{result.line}` {result.kind}: {result.description}"
            for result in survivors
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--target", choices=sorted(TARGETS), default="engine")
    parser.add_argument("--module", action="append", help="a module path (repeatable)")
    parser.add_argument("--sample", type=int, help="run a random sample of this many mutants")
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--timeout", type=float, help="seconds per mutant (default 4 x baseline)")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--rerun", type=Path, help="only the survivors of this results file")
    parser.add_argument(
        "--tests", action="append", help="run only this test file or directory (repeatable)"
    )
    options = parser.parse_args()

    modules = options.module or list(TARGETS[options.target]["modules"])  # type: ignore[call-overload]
    only = survivors_of(options.rerun) if options.rerun else None
    if only is not None:
        modules = sorted({module for module, *_ in only})
    if options.list:
        for module in modules:
            sites = find_sites(module, (REPO_ROOT / module).read_text(encoding="utf-8"))
            print(f"{module}: {len(sites)} mutants")
            for site in sites:
                print(f"  {site.line}: {site.kind}: {site.description}")
        return
    output = options.output or REPO_ROOT / "bench" / "results" / f"mutants-{options.target}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    started = time.monotonic()
    for item in run(
        options.target, modules, options.sample, options.seed, options.timeout, only, options.tests
    ):
        if isinstance(item, str):
            print(item, flush=True)
            continue
        results.append(item)
        print(
            f"[{len(results)}] {item.outcome:8} {item.seconds:5.1f} s  "
            f"{item.module}:{item.line} {item.kind}: {item.description}"
            + (f"  [{item.killed_by}]" if item.killed_by else ""),
            flush=True,
        )
        output.write_text(json.dumps([asdict(r) for r in results], indent=1), encoding="utf-8")
    print(f"\n{time.monotonic() - started:.0f} s in all\n")
    print(summary(results))


if __name__ == "__main__":
    main()
