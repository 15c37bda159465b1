"""A batch that commits after a later one (ids out of commit order) is still counted once."""

from __future__ import annotations

import psycopg
from django.db import connection

from analytics import services
from analytics.models import NodeTotal, RollupCursor
from analytics.services import rollups_refresh
from journeys.enrollments import enrollments_create
from journeys.models import Enrollment
from tests.engine.helpers import chain, customers, node, published

INSERT = """
    INSERT INTO journeys_stepevent (workspace_id, enrollment_id, journey_id, version_id, customer_id,
        node_id, kind, handle, step_seq, at, data)
    SELECT workspace_id, id, journey_id, version_id, customer_id, 'start', 'passed', 'next', 0, now(), '{}'
    FROM journeys_enrollment WHERE id = %s RETURNING id
"""


def _passed(journey) -> int:
    return sum(NodeTotal.objects.for_workspace(journey.workspace_id)
               .filter(journey_id=journey.id, node_id="start", kind="passed").values_list("count", flat=True))


def test_a_slow_transaction_with_lower_ids_is_not_skipped(transactional_db, workspace, monkeypatch):
    monkeypatch.setattr(services, "WRITER_WAIT_SECONDS", 0.2)
    journey = published(workspace, chain(node("start", "start"), node("end", "exit")))
    first, second = customers(workspace, n=2)
    enrollments_create(journey=journey, customer_ids=[first.id, second.id])
    slow_e, fast_e = Enrollment.objects.for_workspace(workspace).filter(journey=journey).order_by("id")
    rollups_refresh()

    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k not in ("cursor_factory", "context")}) as slow:
        slow_id = slow.execute(INSERT, [slow_e.id]).fetchone()[0]  # drawn, not committed
        with connection.cursor() as cursor:  # a later batch commits first, with a higher id
            cursor.execute(INSERT, [fast_e.id])
            fast_id = cursor.fetchone()[0]
        assert fast_id > slow_id

        rollups_refresh()
        # A watermark would now sit at fast_id and never look at slow_id again; the rollup
        # instead holds the range back while its writer runs.
        assert RollupCursor.objects.get(source="journeys_stepevent").closed_id < slow_id
        assert _passed(journey) == 0
        slow.commit()

    rollups_refresh()
    assert RollupCursor.objects.get(source="journeys_stepevent").closed_id >= fast_id
    assert _passed(journey) == 2
    rollups_refresh()  # and only once
    assert _passed(journey) == 2
