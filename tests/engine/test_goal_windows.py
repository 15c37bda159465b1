"""Goal conversion windows: a goal converts once per enrollment within its window after entry —
inside the journey, after completion or exit, holdout customers too — with the converting
event's value."""

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from journeys.engine.goals import _EVENT_BATCH, _MATCH_EVENTS, _open_windows
from journeys.enrollments import enrollments_create
from journeys.models import Enrollment, StepEvent
from tests.audiences.unanalyzed import unanalyzed_event_batch
from tests.conftest import wait_for
from tests.engine.helpers import (
    chain,
    customers,
    enrollment,
    node,
    published,
    send_events,
    wait_state,
)

DONE_AT_ONCE = chain(node("start", "start"))  # completes on entry
LONG_WAIT = chain(
    node("start", "start"),
    node("w", "wait", {"mode": "duration", "duration": {"value": 1, "unit": "days"}}),
)
PURCHASE = {
    "id": "bought",
    "name": "Bought",
    "condition": {"event": "purchase"},
    "value": {"property": "amount"},
}


def converted(journey, customer) -> Enrollment:
    return wait_for(lambda: (e := enrollment(journey, customer)).goals and e)


def goal_steps(journey) -> list[tuple[int, str, float]]:
    return sorted(
        StepEvent.objects.for_workspace(journey.workspace_id)
        .filter(journey_id=journey.id, kind="goal")
        .values_list("customer_id", "data__goal_id", "data__value")
    )


def _finished(journey, group) -> None:
    Enrollment.objects.unscoped().bulk_create(
        [
            Enrollment(
                workspace_id=journey.workspace_id,
                journey=journey,
                version_id=journey.live_version_id,
                customer=c,
                state="completed",
                node_id="start",
                entered_at=timezone.now(),
                finished_at=timezone.now(),
            )
            for c in group
        ]
    )


def test_a_purchase_after_completion_converts_once_with_its_value(workspace, engine):
    journey = published(workspace, DONE_AT_ONCE, {"goals": [PURCHASE]})
    (c,) = customers(workspace)
    enrollments_create(journey=journey, customer_ids=[c.id])
    wait_state(journey, c, "completed")
    send_events(
        workspace, {"customer_id": c.external_id, "name": "purchase", "properties": {"amount": 30}}
    )
    e = converted(journey, c)
    assert e.state == "completed" and [(g["id"], g["value"]) for g in e.goals] == [("bought", 30.0)]
    send_events(
        workspace, {"customer_id": c.external_id, "name": "purchase", "properties": {"amount": 99}}
    )
    send_events(workspace, {"customer_id": c.external_id, "name": "browse"})
    wait_for(
        lambda: StepEvent.objects.for_workspace(workspace).filter(customer_id=c.id).count() >= 3
    )
    from tests.engine.conftest import settle

    settle()
    assert goal_steps(journey) == [(c.id, "bought", 30.0)]


def test_a_purchase_after_an_exit_converts_and_a_missing_value_is_zero(workspace, engine):
    journey = published(
        workspace,
        LONG_WAIT,
        {
            "goals": [PURCHASE],
            "exit_conditions": [{"event": "unsubscribed", "within": "since_entry"}],
        },
    )
    (c,) = customers(workspace)
    enrollments_create(journey=journey, customer_ids=[c.id])
    wait_state(journey, c, "waiting")
    send_events(workspace, {"customer_id": c.external_id, "name": "unsubscribed"})
    wait_state(journey, c, "exited")
    send_events(
        workspace,
        {"customer_id": c.external_id, "name": "purchase", "properties": {"amount": "lots"}},
    )
    e = converted(journey, c)
    assert e.state == "exited" and e.exit_reason == "exit_condition"
    assert goal_steps(journey) == [(c.id, "bought", 0.0)]


def test_the_window_closes_at_its_edge(workspace, engine):
    journey = published(workspace, DONE_AT_ONCE, {"goals": [PURCHASE]})
    inside, outside = customers(workspace, 2)
    enrollments_create(journey=journey, customer_ids=[inside.id, outside.id])
    wait_state(journey, inside, "completed")
    wait_state(journey, outside, "completed")
    now = timezone.now()
    # The default window is 7 days: one entered just under, one just over 7 days before the purchase.
    Enrollment.objects.for_workspace(workspace).filter(customer=inside).update(
        entered_at=now - timedelta(days=7) + timedelta(minutes=1)
    )
    Enrollment.objects.for_workspace(workspace).filter(customer=outside).update(
        entered_at=now - timedelta(days=7) - timedelta(minutes=1)
    )
    send_events(
        workspace,
        {"customer_id": outside.external_id, "name": "purchase", "properties": {"amount": 5}},
        {"customer_id": inside.external_id, "name": "purchase", "properties": {"amount": 7}},
    )
    converted(journey, inside)
    from tests.engine.conftest import settle

    settle()
    assert goal_steps(journey) == [(inside.id, "bought", 7.0)]
    assert enrollment(journey, outside).goals == []


def test_a_custom_window_and_an_event_before_entry_do_not_convert(workspace, engine):
    goal = {**PURCHASE, "window": {"value": 1, "unit": "hours"}}
    journey = published(workspace, DONE_AT_ONCE, {"goals": [goal]})
    early, late = customers(workspace, 2)
    send_events(
        workspace,
        {"customer_id": early.external_id, "name": "purchase", "properties": {"amount": 1}},
    )
    enrollments_create(journey=journey, customer_ids=[early.id, late.id])
    wait_state(journey, early, "completed")
    wait_state(journey, late, "completed")
    Enrollment.objects.for_workspace(workspace).filter(customer=late).update(
        entered_at=timezone.now() - timedelta(hours=1, seconds=5)
    )
    send_events(
        workspace,
        {"customer_id": late.external_id, "name": "purchase", "properties": {"amount": 2}},
        {"customer_id": early.external_id, "name": "browse"},
    )
    from tests.engine.conftest import settle

    wait_for(
        lambda: (
            StepEvent.objects.for_workspace(workspace).filter(journey_id=journey.id).count() >= 4
        )
    )
    settle()
    assert goal_steps(journey) == []


def test_holdout_customers_convert_after_finishing_at_once(workspace, engine, channels_set_up):
    journey = published(
        workspace,
        chain(
            node("start", "start"),
            node("m", "message", {"channel": "sms", "content": {"text": "hi"}}),
        ),
        {"goals": [PURCHASE], "holdout": {"percent": 50}},
    )
    group = customers(workspace, 12)
    enrollments_create(journey=journey, customer_ids=[c.id for c in group])
    finished = wait_for(
        lambda: (
            (
                rows := list(
                    Enrollment.objects.for_workspace(workspace).filter(
                        journey=journey, state__in=["completed", "exited", "failed"]
                    )
                )
            )
            and len(rows) == 12
            and rows
        )
    )
    held = [e for e in finished if e.holdout]
    assert held and len(held) < 12
    by_id = {c.id: c for c in group}
    send_events(
        workspace,
        *[
            {
                "customer_id": by_id[e.customer_id].external_id,
                "name": "purchase",
                "properties": {"amount": 10},
            }
            for e in held
        ],
    )
    wait_for(lambda: len(goal_steps(journey)) == len(held))
    assert {customer for customer, _, _ in goal_steps(journey)} == {e.customer_id for e in held}


def test_a_filtered_goal_converts_on_its_first_matching_event_of_the_batch(workspace, engine):
    big = {
        **PURCHASE,
        "condition": {
            "event": "purchase",
            "where": [{"property": "amount", "op": "gte", "value": 20}],
        },
    }
    journey = published(workspace, DONE_AT_ONCE, {"goals": [big]})
    (c,) = customers(workspace)
    enrollments_create(journey=journey, customer_ids=[c.id])
    wait_state(journey, c, "completed")
    now = timezone.now()
    Enrollment.objects.for_workspace(workspace).filter(customer=c).update(
        entered_at=now - timedelta(hours=1)
    )
    send_events(
        workspace,
        *(
            {
                "customer_id": c.external_id,
                "name": "purchase",
                "properties": {"amount": amount},
                "timestamp": (now - timedelta(minutes=minutes)).isoformat(),
            }
            for amount, minutes in ((5, 30), (40, 10), (25, 20))
        ),
    )
    (goal,) = converted(journey, c).goals
    assert (goal["id"], goal["value"]) == ("bought", 25.0)
    assert goal_steps(journey) == [(c.id, "bought", 25.0)]


def test_a_goal_of_two_purchases_converts_on_the_second_after_completion(workspace, engine):
    twice = {**PURCHASE, "condition": {"event": "purchase", "count": {"op": "gte", "value": 2}}}
    journey = published(workspace, DONE_AT_ONCE, {"goals": [twice]})
    (c,) = customers(workspace)
    enrollments_create(journey=journey, customer_ids=[c.id])
    wait_state(journey, c, "completed")
    send_events(
        workspace, {"customer_id": c.external_id, "name": "purchase", "properties": {"amount": 1}}
    )
    wait_for(
        lambda: (
            StepEvent.objects.for_workspace(workspace).filter(journey_id=journey.id).count() >= 3
        )
    )
    from tests.engine.conftest import settle

    settle()
    assert enrollment(journey, c).goals == []
    send_events(
        workspace, {"customer_id": c.external_id, "name": "purchase", "properties": {"amount": 2}}
    )
    assert [g["value"] for g in converted(journey, c).goals] == [2.0]


def test_an_event_wake_that_finds_its_enrollment_finished_converts_on_the_batch_events(workspace):
    """The ingest saw the enrollment live and queued it a wake with the customer's events of the
    batch; it completed before the wake ran (a timer, another batch). The wake's run converts the
    goals those events meet, the purchase too though the wake names the later browse."""
    from journeys.engine.run import advance

    journey = published(workspace, DONE_AT_ONCE, {"goals": [PURCHASE]})
    (c,) = customers(workspace)
    _finished(journey, [c])
    buy, browse = send_events(
        workspace,
        {"customer_id": c.external_id, "name": "purchase", "properties": {"amount": 30}},
        {"customer_id": c.external_id, "name": "browse"},
    ).event_ids
    payload = {"name": "browse", "properties": {}, "event_id": browse, "event_ids": [buy, browse]}
    advance(items=[[enrollment(journey, c).id, None, {"kind": "event", "payload": payload}]])
    e = enrollment(journey, c)
    assert e.state == "completed" and [(g["id"], g["value"]) for g in e.goals] == [("bought", 30.0)]
    assert goal_steps(journey) == [(c.id, "bought", 30.0)]


def test_a_batch_without_a_goals_event_reads_no_window(workspace, django_assert_max_num_queries):
    """Open windows are met only by the batch's events of a goal's name: a batch of other events
    (most of them, in a busy workspace) costs one statement whatever the windows, and converts nothing."""
    from unittest import mock

    from journeys.engine import goals
    from journeys.engine.goals import finished_goals_convert, workspace_goals

    journey = published(workspace, DONE_AT_ONCE, {"goals": [PURCHASE]})
    group = customers(workspace, 50)
    _finished(journey, group)
    stored = send_events(
        workspace, *({"customer_id": c.external_id, "name": "browse"} for c in group)
    )
    workspace_goals(workspace.pk)  # the version compiled, as in a worker that has seen it once
    # The workspace's goal versions (through Django), then the batch's match (on the raw cursor):
    # no lock, no enrollment or customer loaded, no transaction.
    with (
        django_assert_max_num_queries(1),
        mock.patch("journeys.engine.goals.raw_cursor", wraps=goals.raw_cursor) as raw,
        mock.patch(
            "journeys.engine.goals.transaction.atomic", wraps=goals.transaction.atomic
        ) as atomic,
    ):
        assert (
            finished_goals_convert(
                workspace_id=workspace.pk, event_ids=stored.event_ids, now=timezone.now()
            )
            == 0
        )
    assert (raw.call_count, atomic.call_count) == (1, 0)
    stored = send_events(
        workspace,
        {"customer_id": group[7].external_id, "name": "purchase", "properties": {"amount": 3}},
    )
    assert (
        finished_goals_convert(
            workspace_id=workspace.pk, event_ids=stored.event_ids, now=timezone.now()
        )
        == 1
    )
    assert goal_steps(journey) == [(group[7].id, "bought", 3.0)]


def test_the_ingest_hook_decides_from_the_batch_names_without_reading_it_back(
    workspace, django_assert_max_num_queries
):
    """Goal windows open and nothing live: a batch whose event names (as the ingest gives them)
    hold no goal's event is not read back to be matched and goes nowhere; once a batch met an open
    window, the next ones holding a goal's event go to the engine without a query (its worker
    matches them) until that yes is YES_REUSE_SECONDS old, while other batches still go nowhere."""
    from time import monotonic
    from unittest import mock

    from journeys import triggers
    from journeys.engine import goals

    journey = published(workspace, DONE_AT_ONCE, {"goals": [PURCHASE]})
    group = customers(workspace, 3)
    _finished(journey, group)
    browse = send_events(
        workspace, *({"customer_id": c.external_id, "name": "browse"} for c in group)
    )
    bought = send_events(workspace, {"customer_id": group[1].external_id, "name": "purchase"})
    triggers._yes.pop(workspace.pk, None)
    goals.workspace_goals(workspace.pk)  # the version compiled, as in a process that has seen it
    with (
        mock.patch("journeys.triggers.events_process_enqueue") as enqueue,
        mock.patch("journeys.engine.goals.raw_cursor", wraps=goals.raw_cursor) as matched,
    ):
        with django_assert_max_num_queries(2):  # anything live? the workspace's goal versions
            triggers.on_events_ingested(workspace.pk, browse.event_ids, frozenset({"browse"}))
        assert (enqueue.call_count, matched.call_count) == (0, 0)
        triggers.on_events_ingested(workspace.pk, bought.event_ids, frozenset({"purchase"}))
        assert (enqueue.call_count, matched.call_count) == (1, 1)
        with django_assert_max_num_queries(0):
            triggers.on_events_ingested(
                workspace.pk, bought.event_ids, frozenset({"purchase", "browse"})
            )
        assert (enqueue.call_count, matched.call_count) == (2, 1)
        triggers.on_events_ingested(workspace.pk, browse.event_ids, frozenset({"browse"}))
        assert (enqueue.call_count, matched.call_count) == (2, 1)
        later = monotonic() + triggers.YES_REUSE_SECONDS + 1
        with mock.patch("journeys.triggers.monotonic", return_value=later):
            triggers.on_events_ingested(workspace.pk, bought.event_ids, frozenset({"purchase"}))
        assert (enqueue.call_count, matched.call_count) == (3, 2)  # asked again, still open


def test_goal_window_and_value_are_validated_naming_the_field(workspace):
    from journeys.settings_schema import settings_validate

    settings = {
        "entry": {"type": "api"},
        "goals": [
            {**PURCHASE, "window": {"value": 0, "unit": "days"}, "value": {"property": ""}},
        ],
    }
    fields = {e.field for e in settings_validate(settings=settings, workspace=workspace)}
    assert {"settings.goals.0.window.value", "settings.goals.0.value"} <= fields
    assert (
        settings_validate(
            settings={"entry": {"type": "api"}, "goals": [PURCHASE]}, workspace=workspace
        )
        == []
    )


def test_a_purchase_after_the_journey_stopped_still_converts(workspace, engine):
    from journeys.services import journey_stop

    journey = published(workspace, LONG_WAIT, {"goals": [PURCHASE]})
    (c,) = customers(workspace)
    enrollments_create(journey=journey, customer_ids=[c.id])
    wait_state(journey, c, "waiting")
    journey_stop(journey=journey, actor=None)
    wait_state(journey, c, "exited")  # nothing in the workspace is live any more
    send_events(
        workspace, {"customer_id": c.external_id, "name": "purchase", "properties": {"amount": 4}}
    )
    assert converted(journey, c).exit_reason == "journey_stopped"
    assert goal_steps(journey) == [(c.id, "bought", 4.0)]


def test_a_profile_change_after_completion_converts_an_attribute_goal(workspace, api, engine):
    upgraded = {
        "id": "pro",
        "name": "Went pro",
        "condition": {"attribute": "plan", "op": "eq", "value": "pro"},
    }
    journey = published(workspace, DONE_AT_ONCE, {"goals": [upgraded]})
    (c,) = customers(workspace)
    enrollments_create(journey=journey, customer_ids=[c.id])
    wait_state(journey, c, "completed")
    response = api.patch(
        f"/api/v1/customers/{c.external_id}", {"attributes": {"plan": "pro"}}, format="json"
    )
    assert response.status_code == 200, response.content
    assert [g["id"] for g in converted(journey, c).goals] == ["pro"]
    assert goal_steps(journey) == [(c.id, "pro", 0.0)]


def _event_scans(plan: dict) -> dict[str, tuple[str, str | None]]:
    """Every scan of an event partition in an EXPLAIN (FORMAT JSON) plan: partition → (node type, index)."""
    found = {}
    if str(plan.get("Relation Name", "")).startswith("audiences_event"):
        found[plan["Relation Name"]] = (plan["Node Type"], plan.get("Index Name"))
    for child in plan.get("Plans", []):
        found.update(_event_scans(child))
    return found


def test_a_batch_read_by_id_is_planned_as_one_event_an_id_before_any_statistics(workspace):
    """After every ingested batch the engine reads the batch's events back by id to find open goal
    windows. On partitions autovacuum has not analyzed (a new month, a fresh database), the planner
    combined `id = ANY(...)` with the workspace's index and read the workspace's every event there
    (seconds a batch at 600k events); each id must be one primary-key probe, whatever the statistics."""
    from journeys.triggers import _EVENTS_THAT_MATTER

    ids, filled = unanalyzed_event_batch(workspace)
    now = timezone.now()
    with connection.cursor() as cursor:
        exists_sql, exists_params = _open_windows(
            exists=True,
            workspace_id=workspace.pk,
            event_ids=ids,
            customer_ids=None,
            now=now,
            versions=[1],
        )
        match = {
            "ws": workspace.pk,
            "ids": ids,
            "now": now,
            "m_versions": [1],
            "m_goals": ["bought"],
            "m_names": ["purchase"],
            "m_secs": [86400.0],
            "names": ["purchase"],
        }
        matter = {
            "ws": workspace.pk,
            "ids": ids,
            "names": ["purchase"],
            "entries": False,
            "active": "active",
            "live": ["waiting"],
        }
        for sql, params in (
            (_EVENT_BATCH, {"ws": workspace.pk, "ids": ids}),
            (exists_sql, exists_params),
            (_MATCH_EVENTS.format(columns="e.id"), match),
            (_EVENTS_THAT_MATTER, matter),
        ):
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            scans = _event_scans(cursor.fetchone()[0][0]["Plan"])
            assert {name: scans.get(name) for name in filled} == {
                name: ("Index Scan", f"{name}_pkey") for name in filled
            }, scans
