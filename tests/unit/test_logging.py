import json
import logging

from periop.logging import JsonFormatter


def make_record(**extra):
    record = logging.LogRecord("periop.test", logging.INFO, __file__, 1, "Check done", (), None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_it_writes_one_json_object_with_whitelisted_fields():
    line = JsonFormatter().format(make_record(request_id="abc123", status_code=200))

    entry = json.loads(line)
    assert set(entry) == {"time", "level", "logger", "message", "request_id", "status"}
    assert entry["message"] == "Check done"


def test_it_drops_patient_data_attached_to_a_record():
    record = make_record(patient_name="Ada Lovelace", mrn="MRN-000123", request="<request>")

    line = JsonFormatter().format(record)

    assert "Ada Lovelace" not in line
    assert "MRN-000123" not in line
    assert "<request>" not in line


def test_it_names_the_exception_type_without_its_message():
    try:
        raise ValueError("patient MRN-000123 not found")
    except ValueError:
        import sys

        record = make_record()
        record.exc_info = sys.exc_info()

    line = JsonFormatter().format(record)

    assert json.loads(line)["exception"] == "ValueError"
    assert "MRN-000123" not in line
