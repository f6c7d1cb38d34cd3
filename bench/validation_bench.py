"""A check's input validation, the fast reader against the serializer, in the same run.

Usage: python bench/validation_bench.py [--seconds N]

Validates the contract's example body (two conditions, one medication, five planned drugs; the
body `http_bench.py` sends) with `check_input_validate` (the fast reader, which returns exactly
what `CheckInput` validates or leaves the body to it) and with the prebuilt `CheckInput` alone,
alternating short windows of each, and prints the best and median microseconds per body and
their ratio. No database is touched: the knowledge base comes from fixtures/knowledge.

    python bench/validation_bench.py --calls N [--only fast|serializer]

validates exactly N times with each, timing nothing: under `valgrind --tool=callgrind` the
difference between N and 0 counts the instructions of N validations (bench/README.md).
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "periop.settings")

import django  # noqa: E402

django.setup()

from http_bench import BODY  # noqa: E402

from periop.drugs import registry  # noqa: E402
from periop.drugs.engine import load_knowledge_base  # noqa: E402
from periop.drugs.serializers import CheckInput, check_input_validate  # noqa: E402

WINDOW = 0.2


def readers() -> dict[str, Callable[[Any], Any]]:
    serializer = CheckInput()
    _ = serializer.fields
    return {"fast": check_input_validate, "serializer": serializer.run_validation}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--calls", type=int, default=None)
    parser.add_argument("--only", choices=["fast", "serializer"], default=None)
    options = parser.parse_args()

    registry.use(load_knowledge_base(REPO_ROOT / "fixtures" / "knowledge"))
    body = copy.deepcopy(BODY)
    chosen = {
        name: read
        for name, read in readers().items()
        if options.only is None or options.only == name
    }
    fast, slow = (check_input_validate(body), CheckInput(data=body))
    assert slow.is_valid(), slow.errors
    assert fast == slow.validated_data, "the two readers disagree on the example"
    for read in chosen.values():
        read(body)

    if options.calls is not None:
        for read in chosen.values():
            for _ in range(options.calls):
                read(body)
        return

    windows: dict[str, list[float]] = {name: [] for name in chosen}
    deadline = time.perf_counter() + options.seconds
    while time.perf_counter() < deadline:
        for name, read in chosen.items():
            count = 0
            started = time.perf_counter()
            while (elapsed := time.perf_counter() - started) < WINDOW / len(chosen):
                for _ in range(50):
                    read(body)
                count += 50
            windows[name].append(elapsed / count * 1e6)
    for name, times in windows.items():
        print(f"{name:>10}: best {min(times):7.1f} us, median {statistics.median(times):7.1f} us")
    if len(windows) == 2:
        best = min(windows["serializer"]) / min(windows["fast"])
        median = statistics.median(windows["serializer"]) / statistics.median(windows["fast"])
        print(f"serializer / fast: {best:.1f} x at best, {median:.1f} x at the median")


if __name__ == "__main__":
    main()
