"""The rollups agree with a full recount of StepEvent, Message and Enrollment after a randomized
run of real customers through the real engine, with the rollup task folding concurrently."""

from __future__ import annotations

import random
import threading

import pytest
from django.db import connection

from analytics.selectors import journey_live_counts
from analytics.services import rollups_refresh
from audiences.models import Customer
from audiences.services import events_ingest
from channels_app.models import Message
from channels_app.services import channel_create, message_receipt
from journeys.enrollments import enrollments_create
from journeys.models import Enrollment
from tests.analytics.helpers import forked_journey, recount
from tests.conftest import wait_for

RECEIPTS = ("delivered", "opened", "read", "clicked", "replied", "bounced", "failed")


class Refresher:
    """The beat's rollup task, run back to back in a thread while the engine works, so folds
    race real commits (including batches that commit out of id order)."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.stop = threading.Event()
        self.runs = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        try:
            while not self.stop.is_set():
                rollups_refresh()
                self.runs += 1
                self.stop.wait(self.interval)
        except BaseException as exc:  # surfaced by the test below
            self.error = exc
        finally:
            connection.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=30)


def assert_matches(body: dict, expected: dict):
    summary, want = body["summary"], expected["summary"]
    for key in ("started", "active", "completed", "exited", "goal_conversions", "exited_by_reason"):
        assert summary[key] == want[key], key
    assert summary["avg_duration_seconds"] == pytest.approx(want["avg_duration_seconds"], abs=1e-3)
    # The median comes from a histogram whose buckets are 5% of (seconds + 1) wide and is
    # interpolated inside its bucket, so it is off by at most one bucket's width (7.5% at 2 s).
    median = want["median_duration_seconds"]
    assert summary["median_duration_seconds"] == pytest.approx(median, abs=0.05 * (median + 1))
    holdout = summary["holdout"]
    assert holdout["holdout"]["started"] == want["holdout_started"]
    assert holdout["treatment"]["started"] == want["treated_started"]
    assert holdout["holdout"]["goal_conversions"] == want["holdout_conversions"]
    assert holdout["treatment"]["goal_conversions"] == want["treated_conversions"]
    got_nodes = {n["node_id"]: n for n in body["nodes"]}
    for node_id, want_node in expected["nodes"].items():
        got = got_nodes[node_id]
        for key in ("entered", "passed", "exited", "failed", "completed", "waiting"):
            assert got[key] == want_node[key], (node_id, key)
        assert {h: n for h, n in got["handles"].items() if n} == want_node["handles"], node_id
        if got["messages"] is not None or any(want_node["messages"].values()):
            assert got["messages"] == want_node["messages"], node_id


def test_randomized_engine_run_matches_a_full_recount(workspace, engine, api):
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    print(f"seed={seed}")
    channel_create(workspace=workspace, channel="sms", provider="sandbox", name="Sandbox SMS")
    journey = forked_journey(workspace, holdout=25)
    people = Customer.objects.unscoped().bulk_create([
        Customer(
            workspace=workspace, external_id=f"r{i}",
            phone=f"+1555000{i:04d}" if rng.random() < 0.8 else "",  # no phone → the send fails
            attributes={"plan": rng.choice(["vip", "basic"])},
        )
        for i in range(120)
    ])
    with Refresher() as refresher:
        enrollments_create(journey=journey, customer_ids=[c.id for c in people])
        # Some buy (goal + wakes the event wait), some click a promo (second goal), some stop.
        events_ingest(workspace=workspace, events=[
            {"customer_id": c.external_id, "name": rng.choice(["purchase", "clicked_promo", "stop"])}
            for c in rng.sample(people, 50)
        ])
        sent_now = Message.objects.for_workspace(workspace).filter(status="sent")
        sent = wait_for(lambda: len(found := list(sent_now[:40])) >= 15 and found, timeout=30)
        for message in sent:
            for status in rng.sample(RECEIPTS, rng.randint(1, 3)):
                message_receipt(message=message, status=status, source="api")
        wait_for(
            lambda: not Enrollment.objects.for_workspace(workspace)
            .filter(journey=journey, state__in=["active", "waiting"]).exists(),
            timeout=60,
        )
        more = rng.sample(sent, 10)  # (at least 15 were sent)
        for message in more:  # late and repeated receipts after the journey finished
            message_receipt(message=message, status=rng.choice(RECEIPTS), source="api")
    assert refresher.error is None, refresher.error
    assert refresher.runs > 3
    rollups_refresh()

    response = api.get(f"/api/v1/journeys/{journey.pk}/analytics")
    assert response.status_code == 200, response.content
    body = response.json()
    expected = recount(journey)
    assert body["summary"]["started"] == 120
    assert_matches(body, expected)
    assert body["summary"]["holdout"]["percent"] == 25
    assert sum(body["summary"]["exited_by_reason"].values()) == body["summary"]["exited"]
    assert body["series"][-1]["started"] == 120
    # The live canvas's message numbers (NodeTotal) are the analytics page's (MessageRollup).
    live = journey_live_counts(journey_id=journey.pk, workspace_id=workspace.pk)["nodes"]
    for row in body["nodes"]:
        if row["messages"] is not None and any(row["messages"].values()):
            assert live[row["node_id"]]["messages"] == row["messages"], row["node_id"]
    assert any("messages" in row for row in live.values())
