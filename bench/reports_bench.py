"""Department report benchmark: the report for one month against one hand-written SQL query.

Needs a PostgreSQL database filled by `seed_demo` (it reads, and appends the page views' own
audit events, nothing else):

    python manage.py seed_demo --departments 5 --patients 20000 --assessments 1000000
    python bench/reports_bench.py --database-url postgres://postgres@127.0.0.1:5432/<db>

Targets (issue "Department audit reports that scale to millions of assessments"): the
one-month department report renders in under 1 s, within 1.5 times a hand-written single
SQL query computing the same figures in the same run; the query count does not depend on
the number of rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HAND_WRITTEN = """
WITH a AS MATERIALIZED (
    SELECT id, status, highest_level, created_by_id, signed_by_id, created_at, supersedes_id,
           revision, knowledge_base_version, knowledge_base_digest, patient_id
    FROM assessments_assessment
    WHERE department_id = %(department)s AND created_at >= %(start)s AND created_at < %(end)s
),
c AS MATERIALIZED (
    SELECT c.assessment_id, c.drug, c.drug_class, c.level, c.conflict
    FROM assessments_assessmentcaution c
    WHERE department_id = %(department)s AND created_at >= %(start)s AND created_at < %(end)s
),
k AS MATERIALIZED (
    SELECT ack.assessment_id, ack.level, ack.decision, ack.reason_code, ack.drug,
           ack.acknowledged_by_id
    FROM assessments_acknowledgement ack
    JOIN a ON a.id = ack.assessment_id AND ack.revision = a.revision
    WHERE ack.acknowledged_at >= %(start)s AND ack.replaced_at IS NULL
      AND ack.level IN ('contraindicated', 'avoid')
),
f AS MATERIALIZED (
    SELECT f.assessment_id, f.drug, f.rule, f.level, f.locally_tuned
    FROM assessments_assessmentfinding f
    WHERE department_id = %(department)s AND created_at >= %(start)s AND created_at < %(end)s
)
SELECT json_build_object(
  'head', (SELECT json_build_object('sequence', sequence, 'hash', hash)
           FROM audit_auditchainhead WHERE id = 1),
  'totals', (SELECT json_build_object(
        'total', count(*),
        'draft', count(*) FILTER (WHERE status = 'draft'),
        'signed', count(*) FILTER (WHERE status = 'signed'),
        'amendments', count(*) FILTER (WHERE supersedes_id IS NOT NULL),
        'stale_drafts', count(*) FILTER (WHERE status = 'draft' AND created_at < %(stale)s),
        'highest', (SELECT json_object_agg(highest_level, n)
                    FROM (SELECT highest_level, count(*) n FROM a GROUP BY 1) h))
      FROM a),
  'series', (SELECT json_agg(s ORDER BY day) FROM (
        SELECT (created_at AT TIME ZONE %(zone)s)::date AS day, count(*) AS total,
               count(*) FILTER (WHERE status = 'signed') AS signed,
               count(*) FILTER (WHERE highest_level IN ('contraindicated', 'avoid')) AS needing
        FROM a GROUP BY 1) s),
  'cautions', (SELECT json_build_object(
        'rows', count(*), 'conflicts', count(*) FILTER (WHERE conflict),
        'contraindicated', count(*) FILTER (WHERE level = 'contraindicated'),
        'avoid', count(*) FILTER (WHERE level = 'avoid'),
        'adjust', count(*) FILTER (WHERE level = 'adjust'),
        'monitor', count(*) FILTER (WHERE level = 'monitor'),
        'none', count(*) FILTER (WHERE level = 'none')) FROM c),
  'by_drug', (SELECT json_agg(d) FROM (
        SELECT drug, drug_class, level, count(*) AS n FROM c GROUP BY 1, 2, 3) d),
  'by_condition', (SELECT json_agg(x) FROM (
        SELECT cc.code, count(DISTINCT cc.assessment_id) AS assessments,
               count(c.level) FILTER (WHERE c.level = 'contraindicated') AS contraindicated,
               count(c.level) FILTER (WHERE c.level = 'avoid') AS avoid,
               count(c.level) FILTER (WHERE c.level = 'adjust') AS adjust,
               count(c.level) FILTER (WHERE c.level = 'monitor') AS monitor,
               count(c.level) FILTER (WHERE c.level = 'none') AS none
        FROM assessments_assessmentconditioncode cc
        LEFT JOIN c ON c.assessment_id = cc.assessment_id
        WHERE cc.department_id = %(department)s
          AND cc.created_at >= %(start)s AND cc.created_at < %(end)s
        GROUP BY cc.code) x),
  'acknowledgements', (SELECT json_agg(o) FROM (
        SELECT level, decision, reason_code, drug, count(*) AS n FROM k GROUP BY 1, 2, 3, 4) o),
  'rules', (SELECT json_agg(r) FROM (
        SELECT rule, count(*) AS fired, count(DISTINCT assessment_id) AS assessments,
               count(*) FILTER (WHERE locally_tuned) AS locally_tuned,
               count(*) FILTER (WHERE level = 'contraindicated') AS contraindicated,
               count(*) FILTER (WHERE level = 'avoid') AS avoid,
               count(*) FILTER (WHERE level = 'adjust') AS adjust,
               count(*) FILTER (WHERE level = 'monitor') AS monitor,
               count(*) FILTER (WHERE level = 'none') AS none
        FROM f GROUP BY rule) r),
  'rule_decisions', (SELECT json_agg(r) FROM (
        SELECT f.rule, k.decision, k.reason_code, count(*) AS n
        FROM k JOIN f ON f.assessment_id = k.assessment_id AND f.drug = k.drug
                     AND f.level = k.level
        GROUP BY 1, 2, 3) r),
  'created', (SELECT json_agg(p) FROM (
        SELECT created_by_id, count(*) AS n, count(*) FILTER (WHERE status = 'draft') AS drafts
        FROM a GROUP BY 1) p),
  'signed', (SELECT json_agg(p) FROM (
        SELECT signed_by_id, count(*) AS n FROM a WHERE status = 'signed' GROUP BY 1) p),
  'acknowledged', (SELECT json_agg(p) FROM (
        SELECT acknowledged_by_id, count(*) FILTER (WHERE decision = 'accepted') AS accepted,
               count(*) FILTER (WHERE decision = 'overridden') AS overridden
        FROM k GROUP BY 1) p),
  'stale', (SELECT json_agg(s) FROM (
        SELECT id, patient_id, created_at, created_by_id, highest_level FROM a
        WHERE status = 'draft' AND created_at < %(stale)s ORDER BY created_at, id LIMIT 20) s),
  'knowledge_base', (SELECT json_agg(v) FROM (
        SELECT knowledge_base_version, knowledge_base_digest, count(*) AS n,
               min(created_at) AS first, max(created_at) AS last
        FROM a GROUP BY 1, 2) v)
)
"""


def _setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "periop.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def _timed(function: Any, repeat: int) -> tuple[float, Any]:
    """Median wall time in seconds of `repeat` calls after one warm-up call."""
    result = function()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--department", default="demo-1", help="department code")
    parser.add_argument("--month", help="YYYY-MM (default: the last full month)")
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()
    _setup(options.database_url)

    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from periop.accounts.models import Department
    from periop.assessments.models import Assessment
    from periop.reports.periods import report_period_parse
    from periop.reports.selectors import department_report
    from periop.reports.views import department_report_page

    department = Department.objects.get(code=options.department)
    today = timezone.now().astimezone(dt.UTC).date()
    if options.month:
        first = f"{options.month}-01"
    else:
        first = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1).isoformat()
    period = report_period_parse(
        first=first, last=None, time_zone=department.time_zone, today=today
    )
    stale = timezone.now() - dt.timedelta(hours=24)
    parameters = {
        "department": department.pk,
        "start": period.start,
        "end": period.end,
        "stale": stale,
        "zone": department.time_zone,
    }
    all_rows = Assessment.objects.count()
    print(
        f"database: {all_rows:,} assessments; department {department.code} "
        f"({department.time_zone}); period {period.first_day} to {period.last_day}"
    )

    def hand_written() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(HAND_WRITTEN, parameters)
            return cursor.fetchone()[0]

    def selectors() -> Any:
        return department_report(department=department, period=period)

    auditor = get_user_model().objects.get(username=f"{department.code}-auditor")
    factory = RequestFactory()

    def page() -> Any:
        request = factory.get(
            f"/reports/departments/{department.pk}/",
            {"from": str(period.first_day), "to": str(period.last_day)},
        )
        request.user = auditor
        # The pages' header reads the department chosen in the session.
        request.session = SessionStore()
        response = department_report_page(request, department.pk)
        assert response.status_code == 200, response.status_code
        return response

    sql_time, sql_result = _timed(hand_written, options.repeat)
    report_time, report = _timed(selectors, options.repeat)
    page_time, _ = _timed(page, options.repeat)
    with CaptureQueriesContext(connection) as captured:
        selectors()
    report_queries = len(captured.captured_queries)
    with CaptureQueriesContext(connection) as captured:
        page()
    page_queries = len(captured.captured_queries)

    # The two computations must agree before their times mean anything.
    totals = sql_result["totals"]
    assert totals["total"] == report["assessments"]["total"], (totals, report["assessments"])
    assert totals["signed"] == report["assessments"]["by_status"]["signed"]
    cautions = sql_result["cautions"]
    for level, count in report["cautions"]["by_level"].items():
        assert cautions[level] == count, (level, cautions, report["cautions"]["by_level"])
    overridden = sum(
        row["n"] for row in sql_result["acknowledgements"] or [] if row["decision"] == "overridden"
    )
    assert overridden == report["overrides"]["total"], (overridden, report["overrides"]["total"])
    rules = report["rules"]["by_rule"]
    fired = {row["rule"]: row["fired"] for row in sql_result["rules"] or []}
    assert fired == {row["rule"]: row["fired"] for row in rules if row["fired"]}, "rules fired"
    rule_overrides: dict[str, int] = {}
    for row in sql_result["rule_decisions"] or []:
        if row["decision"] == "overridden":
            rule_overrides[row["rule"]] = rule_overrides.get(row["rule"], 0) + row["n"]
    assert rule_overrides == {row["rule"]: row["overridden"] for row in rules if row["overridden"]}

    print(
        f"assessments in the period: {report['assessments']['total']:,} "
        f"(signed {report['assessments']['by_status']['signed']:,}, "
        f"drafts unsigned > 24 h {report['stale_drafts']['count']:,})"
    )
    print(f"cautions by level: {report['cautions']['by_level']}")
    print(
        f"overrides: {report['overrides']['total']:,}; rate per level: "
        + ", ".join(
            f"{row['level']} {row['override_rate']}" for row in report["overrides"]["by_level"]
        )
    )
    print(
        f"rules: {len(rules)} fired {sum(row['fired'] for row in rules):,} times; most fired: "
        + ", ".join(f"{row['rule']} {row['fired']:,}" for row in rules[:3])
    )
    print(
        f"clinicians: {len(report['clinicians'])}; knowledge-base versions: "
        f"{len(report['knowledge_base_versions'])}; "
        f"chain head #{report['audit_chain_head']['sequence']:,}"
    )
    print(f"hand-written single SQL query: {sql_time * 1000:7.1f} ms (median of {options.repeat})")
    print(
        f"report selectors ({report_queries} queries): {report_time * 1000:7.1f} ms, "
        f"ratio {report_time / sql_time:.2f}"
    )
    print(
        f"HTML page, rendered and audited ({page_queries} queries): {page_time * 1000:7.1f} ms, "
        f"ratio {page_time / sql_time:.2f}"
    )
    ok = page_time < 1.0 and report_time <= 1.5 * sql_time
    print("targets met" if ok else "TARGETS MISSED")


if __name__ == "__main__":
    main()
