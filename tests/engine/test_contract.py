"""The executor contract channels relies on, exercised with a node type of this test's own:
Wait(event=None) until signal(), idempotency key (enrollment id, step_seq), on_commit side
effects, holdout pass-through, await windows."""

from datetime import timedelta

import pytest

from journeys.dispatch import signal
from journeys.enrollments import enrollments_create
from journeys.models import StepEvent
from journeys.nodes.base import REGISTRY, Next, NodeType, Wait
from tests.conftest import wait_for
from tests.engine.helpers import chain, customers, enrollment, node, passed, published, wait_state

SENT: list[tuple[int, int]] = []


class FakeSend(NodeType):
    """Like chn's message node: send after commit, wait for the channel's answer."""

    type = "test_send"
    sends_messages = True

    def handles(self, config):
        return ["yes", "no", "failed"] if config.get("await") else ["next", "failed"]

    def execute(self, ctx):
        if ctx.config.get("no_address"):
            return Next("failed")
        key = (ctx.enrollment.id, ctx.step_seq)
        ctx.on_commit(lambda: SENT.append(key))
        ctx.note(rendered=ctx.render("Hi {{ customer.external_id }}"))
        return Wait(event=None, data={"key": list(key)})

    def resume(self, ctx, wake):
        awaited = ctx.config.get("await")
        status = wake.payload.get("status")
        if wake.kind == "timer":
            return Next("no")
        if status == "failed":
            return Next("failed")
        if not awaited:
            return Next("next")
        if status == awaited:
            return Next("yes")
        if status == "sent":
            return Wait(until=ctx.now + timedelta(seconds=1), data=ctx.wait_data)
        return Wait(until=ctx.enrollment.wake_at, data=ctx.wait_data)  # another receipt: keep waiting


@pytest.fixture(autouse=True)
def fake_send():
    REGISTRY["test_send"] = FakeSend()
    SENT.clear()
    yield
    REGISTRY.pop("test_send", None)


def _journey(workspace, **config):
    return published(workspace, chain(node("start", "start"), node("m", "test_send", config)))


def test_send_waits_for_the_signal_then_takes_next(workspace, engine):
    journey = _journey(workspace)
    (c,) = customers(workspace)
    enrollments_create(journey=journey, customer_ids=[c.id])
    e = wait_state(journey, c, "waiting")
    wait_for(lambda: SENT == [(e.id, e.step_seq)])
    signal(enrollment_id=e.id, step_seq=e.step_seq + 1, payload={"status": "sent"})  # wrong step: no-op
    signal(enrollment_id=e.id, step_seq=e.step_seq, payload={"status": "sent"})
    assert ("m", "next") in passed(wait_state(journey, c, "completed"))
    waiting = StepEvent.objects.for_workspace(workspace).get(enrollment=e, kind="waiting")
    assert waiting.data["rendered"] == "Hi c0"
    assert SENT == [(e.id, e.step_seq)]  # exactly once


def test_failed_send_and_synchronous_failure(workspace, engine):
    journey = _journey(workspace)
    (c,) = customers(workspace)
    enrollments_create(journey=journey, customer_ids=[c.id])
    e = wait_state(journey, c, "waiting")
    signal(enrollment_id=e.id, step_seq=e.step_seq, payload={"status": "failed", "error": "bounced"})
    assert ("m", "failed") in passed(wait_state(journey, c, "completed"))

    no_address = published(workspace, chain(node("start", "start"), node("m", "test_send", {"no_address": True})), name="x")
    enrollments_create(journey=no_address, customer_ids=[c.id])
    assert ("m", "failed") in passed(wait_state(no_address, c, "completed"))


def test_await_keeps_waiting_for_the_status_until_its_window(workspace, engine):
    journey = _journey(workspace, **{"await": "clicked"})
    clicker, idle = customers(workspace, 2)
    enrollments_create(journey=journey, customer_ids=[clicker.id, idle.id])
    for c in (clicker, idle):
        e = wait_state(journey, c, "waiting")
        signal(enrollment_id=e.id, step_seq=e.step_seq, payload={"status": "sent"})
    e = wait_for(lambda: (x := enrollment(journey, clicker)).wake_at is not None and x)
    signal(enrollment_id=e.id, step_seq=e.step_seq, payload={"status": "delivered"})
    signal(enrollment_id=e.id, step_seq=e.step_seq, payload={"status": "clicked"})
    assert ("m", "yes") in passed(wait_state(journey, clicker, "completed"))
    assert ("m", "no") in passed(wait_state(journey, idle, "completed"))


def test_holdout_customers_pass_message_nodes_without_sending(workspace, engine):
    journey = published(workspace, chain(node("start", "start"), node("m", "test_send")), {"holdout": {"percent": 50}})
    people = customers(workspace, 20)
    enrollments_create(journey=journey, customer_ids=[c.id for c in people])
    held = [c for c in people if enrollment(journey, c).holdout]
    assert held
    for c in held:
        e = wait_state(journey, c, "completed")
        step = StepEvent.objects.for_workspace(workspace).get(enrollment=e, kind="passed", node_id="m")
        assert step.handle == "next" and step.data == {"holdout": True}
    wait_for(lambda: len(SENT) == 20 - len(held))
    assert not {k[0] for k in SENT} & {enrollment(journey, c).id for c in held}


def test_an_executor_that_crashes_fails_only_its_enrollment(workspace, engine, monkeypatch):
    def boom(self, ctx):
        if ctx.customer.external_id == "c0":
            raise RuntimeError("bug")
        return Next("next")

    monkeypatch.setattr(FakeSend, "execute", boom)
    journey = _journey(workspace)
    bad, good = customers(workspace, 2)
    enrollments_create(journey=journey, customer_ids=[bad.id, good.id])
    assert wait_state(journey, bad, "failed").exit_reason.startswith("error: RuntimeError")
    wait_state(journey, good, "completed")


def test_signals_during_a_pause_are_held_and_replayed_on_resume(workspace, engine):
    from journeys.services import journey_pause, journey_resume

    journey = _journey(workspace)
    (c,) = customers(workspace)
    enrollments_create(journey=journey, customer_ids=[c.id])
    e = wait_state(journey, c, "waiting")
    journey_pause(journey=journey, actor=None)
    signal(enrollment_id=e.id, step_seq=e.step_seq, payload={"status": "sent"})
    wait_for(lambda: enrollment(journey, c).wait.get("held"))
    assert enrollment(journey, c).state == "waiting"
    journey.refresh_from_db()
    journey_resume(journey=journey, actor=None)
    assert ("m", "next") in passed(wait_state(journey, c, "completed"))
