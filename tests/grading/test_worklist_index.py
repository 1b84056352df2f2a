"""The worklist's query reads the waiting examinations in order from exam_waiting (migration
grading/0004) instead of sorting all that wait: measured in bench/worklist.py at 100k
examinations, checked here on PostgreSQL by asking for the plan with sorting ruled out."""

import pytest
from django.db import connection

from fundushub.grading import workflow, worklist
from fundushub.grading.models import WAITING_STAGES, Examination, Stage
from tests.conftest import examination_of


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # On a few rows any plan is cheap: rule out sorts and table scans to see whether the
        # ordered index can answer at all (which needs the query to imply the index's WHERE).
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's (SQLite sorts: see bench/RESULTS.md)")


@pytest.mark.parametrize("username", ["gina", "sophie"])
def test_a_worklist_page_is_read_in_order_from_the_waiting_index(postgresql, graders, username):
    examination_of(graders, 1)
    user = getattr(graders, username)  # sophie also arbitrates: one more stage in the query
    plan = _plan(workflow.waiting_for(user)[: worklist.PER_PAGE + 1])
    assert "exam_waiting" in plan, plan
    assert "Sort" not in plan, plan


def test_a_later_page_starts_in_the_waiting_index_at_its_cursor(postgresql, graders):
    exam = examination_of(graders, 1)
    at = exam.waiting_since  # the cursor's key, as worklist.py pages with it
    later = workflow.waiting_for(graders.gina).filter(waiting_since__gte=at)
    plan = _plan(later.exclude(waiting_since=at, id__lte=exam.pk)[:26])
    assert "exam_waiting" in plan and "Sort" not in plan, plan
    assert "waiting_since >=" in plan, plan


def test_every_stage_but_decided_is_in_the_waiting_index():
    # A new waiting stage must join the index's WHERE, or its examinations' pages sort again.
    index = next(i for i in Examination._meta.indexes if i.name == "exam_waiting")
    assert index.condition.children == [("stage__in", WAITING_STAGES)]
    assert set(WAITING_STAGES) == set(Stage.values) - {Stage.DONE}
