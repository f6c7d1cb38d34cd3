"""Helpers shared by the assessment services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar, cast

from periop.api import DomainError
from periop.assessments.selectors import RecordedState
from periop.drugs.engine import Evaluation
from periop.drugs.registry import get_knowledge_base
from periop.drugs.services import cautions_evaluate

# Audit data categories (ASTM E2147 7.1.9): what kind of patient data an event touched.
CATEGORY_DEMOGRAPHICS = "demographics"
CATEGORY_CONDITION = "nmj-condition"
CATEGORY_MEDICATION = "medication"
CATEGORY_RECEPTOR_STATE = "nmj-receptor-state"
CATEGORY_ASSESSMENT = "pre-op-assessment"
CATEGORY_ACKNOWLEDGEMENT = "caution-acknowledgement"
CATEGORY_CHECK = "nmj-drug-check"


_T = TypeVar("_T")


def kept_on(obj: object, name: str, key: Hashable, compute: Callable[[], _T]) -> _T:
    """`compute()`, kept on `obj` (an assessment, say) under `name` for `key`: a request that
    reads the same object several times (a page, its plan, its forms) computes it once per key.
    Callers only read what it returns."""
    memo: dict[Hashable, Any] = obj.__dict__.setdefault(name, {})
    if key not in memo:
        memo[key] = compute()
    return cast(_T, memo[key])


def audit_safe(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Attribute values for an audit payload, which takes no floats: numbers become text."""
    return {
        name: str(value) if isinstance(value, float | Decimal) else value
        for name, value in attributes.items()
    }


def join_names(names: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def evaluate_recorded(
    *, recorded: RecordedState, drugs: Sequence[str], at: dt.datetime, time_field: str
) -> Evaluation:
    """Evaluates the recorded state. A recorded condition or medication the engine cannot use
    at this time (an onset after it, say) is reported on the request's time field, since the
    request named no condition; the message names the active knowledge-base release, which
    may no longer know a code the record uses."""
    try:
        return cautions_evaluate(state=recorded.state, drugs=drugs, at=at)
    except DomainError as error:
        if error.field in {"conditions", "medications"}:
            raise DomainError(
                f"{error.message} Check the patient's recorded conditions and medications "
                f"against knowledge-base release {get_knowledge_base().version}, now active, "
                "or the time.",
                field=time_field,
            ) from error
        raise
