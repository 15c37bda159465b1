from journeys.enrollments import enrollments_create
from tests.engine.helpers import chain, customers, history, node, published, seconds, wait_state


def test_linear_journey_runs_to_the_end(workspace, engine):
    journey = published(
        workspace,
        chain(
            node("start", "start"),
            node("tag", "update_profile", {"set": {"greeting": "hi {{ customer.external_id }}"}, "add_tags": ["x"]}),
            node("pause", "wait", {"mode": "duration", "duration": seconds(1)}),
            node("end", "exit"),
        ),
    )
    (c,) = customers(workspace)
    result = enrollments_create(journey=journey, customer_ids=[c.id])
    assert result.enrolled == 1
    e = wait_state(journey, c, "completed")
    assert [k for _, k, _ in history(e)][:3] == ["entered", "passed", "arrived"]
    c.refresh_from_db()
    assert c.attributes["greeting"] == "hi c0"
    assert c.tags == ["x"]
