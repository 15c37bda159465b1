"""The engine's fast paths give the same answers as the slow ones: memoized Liquid renders, one
statement that locks and loads a batch, binary COPY of the history."""

from datetime import UTC, datetime

from audiences.models import Customer
from journeys.engine import advance
from journeys.enrollments import enrollments_create
from journeys.models import Enrollment, StepEvent
from templating import render_liquid
from templating.render import memo_key as _memo_key
from tests.engine.helpers import chain, customers, history, node, published


def _ctx(**customer) -> dict:
    return {"customer": customer, "event": {}, "journey": {"id": 1, "name": "Welcome"}}


def test_memoized_renders_follow_the_values_they_read():
    template = "Hi {{ customer.first_name | default: 'there' }} from {{ journey.name }}"
    assert render_liquid(template, _ctx(first_name="Ada")) == "Hi Ada from Welcome"
    assert render_liquid(template, _ctx(first_name="Bob")) == "Hi Bob from Welcome"
    assert render_liquid(template, _ctx()) == "Hi there from Welcome"
    assert render_liquid(template, _ctx(first_name="Ada")) == "Hi Ada from Welcome"
    # Equal in Python, not in Liquid: 1, 1.0 and true each render as themselves.
    assert [render_liquid("{{ customer.n }}", _ctx(n=v)) for v in (1, 1.0, True)] == ["1", "1.0", "true"]
    # Values Liquid derives (sizes) and the clock are never served from the memo.
    assert render_liquid("{{ customer.tags.size }}", _ctx(tags=["a"])) == "1"
    assert render_liquid("{{ customer.tags.size }}", _ctx(tags=["a", "b"])) == "2"
    assert _memo_key("{{ customer.tags.size }}", _ctx(tags=["a"])) is None
    assert _memo_key("{{ 'now' | date: '%s' }}", _ctx()) is None
    assert render_liquid("plain text", _ctx()) == "plain text"


def test_one_batch_locks_loads_runs_and_writes_history(workspace, db):
    graph = chain(
        node("start", "start"),
        node("u", "update_profile", {"set": {"greeting": "Hi {{ customer.first_name }}"}, "add_tags": ["seen"]}),
        node("end", "exit"),
    )
    journey = published(workspace, graph)
    people = customers(workspace, 3)
    for i, person in enumerate(people):
        person.attributes = {"first_name": f"N{i}"}
        person.save()
    ids = enrollments_create(journey=journey, customer_ids=[c.id for c in people]).ids
    Enrollment.objects.for_workspace(workspace).filter(id=ids[2]).update(state="exited")

    report = advance(items=[[i, 0, None] for i in ids])

    assert report.locked == 2  # the finished one is neither locked nor run
    for i, person in enumerate(people[:2]):
        person = Customer.objects.for_workspace(workspace).get(id=person.id)
        assert person.attributes["greeting"] == f"Hi N{i}"
        assert person.tags == ["seen"]
        e = Enrollment.objects.for_workspace(workspace).get(journey=journey, customer=person)
        assert (e.state, e.node_id, e.finished_at is not None) == ("completed", "end", True)
        assert history(e) == [
            ("start", "entered", ""), ("start", "passed", "next"), ("u", "arrived", ""),
            ("u", "passed", "next"), ("end", "arrived", ""), ("end", "completed", ""),
        ]
        note = StepEvent.objects.for_workspace(workspace).get(enrollment=e, node_id="u", kind="passed")
        assert note.data == {"set": {"greeting": f"Hi N{i}"}}
        assert note.to_node_id == "end"  # the arrival rides on the passed row: one row per move
        assert StepEvent.objects.for_workspace(workspace).filter(enrollment=e).count() == 4
        assert note.at.tzinfo is not None and abs(note.at - datetime.now(UTC)).total_seconds() < 60
    assert Customer.objects.for_workspace(workspace).get(id=people[2].id).tags == []
    assert not StepEvent.objects.for_workspace(workspace).filter(enrollment_id=ids[2]).exclude(kind="entered").exists()
