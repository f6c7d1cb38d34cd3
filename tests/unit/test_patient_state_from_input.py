"""A check's validated input becomes the engine's patient state field by field.

The service builds the engine's input dataclasses by position (half the cost of keywords), so
each field must land where the class declares it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from periop.drugs.engine.types import ConditionInput, MedicationInput, PatientState
from periop.drugs.services import patient_state_from_input

ONSET = dt.date(2024, 5, 1)
RESOLVED = dt.datetime(2026, 11, 1, 8, tzinfo=dt.UTC)
STARTED = dt.date(2024, 5, 3)
STOPPED = dt.datetime(2026, 11, 20, 8, tzinfo=dt.UTC)


def test_every_field_lands_where_the_engine_reads_it():
    attributes = {"antibody": "achr"}
    state = patient_state_from_input(
        {
            "patient": {"weight_kg": Decimal("62.00"), "age_years": 34, "sex": "female"},
            "conditions": [
                {
                    "code": "myasthenia-gravis",
                    "onset": ONSET,
                    "resolved": RESOLVED,
                    "attributes": attributes,
                }
            ],
            "medications": [{"code": "pyridostigmine", "started": STARTED, "stopped": STOPPED}],
            "receptor_state": "down",
        }
    )

    assert state == PatientState(
        conditions=(
            ConditionInput(
                code="myasthenia-gravis",
                onset=ONSET,
                resolved=RESOLVED,
                attributes={"antibody": "achr"},
            ),
        ),
        medications=(MedicationInput(code="pyridostigmine", started=STARTED, stopped=STOPPED),),
        weight_kg=Decimal("62.00"),
        age_years=34,
        sex="female",
        receptor_state_override="down",
    )
    # The attributes are the state's own copy: the input may be read again.
    assert state.conditions[0].attributes is not attributes


def test_absent_fields_are_unknown():
    state = patient_state_from_input({"conditions": [{"code": "stroke"}], "drugs": ["rocuronium"]})

    assert state == PatientState(conditions=(ConditionInput(code="stroke"),))
    assert dataclasses.astuple(state.conditions[0]) == ("stroke", None, None, {})
