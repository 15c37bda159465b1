from analytics.services import rollups_refresh
from journeys.enrollments import enrollments_create
from tests.engine.helpers import chain, customers, node, published
from tests.isolation import isolation_case, isolation_list


def _journey_with_numbers(workspace):
    graph = chain(node("start", "start"), node("secret-node-id", "exit"))
    journey = published(workspace, graph, name="secret-analytics-journey")
    people = customers(workspace, n=3, prefix="secret-analytics-customer-")
    enrollments_create(journey=journey, customer_ids=[c.id for c in people])
    rollups_refresh()
    return journey


@isolation_case("journey-analytics", "journey-analytics-csv", "journey-analytics-funnel")
def journey_analytics(workspace):
    journey = _journey_with_numbers(workspace)
    return {"pk": journey.pk}, ["secret-analytics-journey", "secret-node-id"]


# analytics-journeys-csv streams (no .content for the sweep): tests/analytics/test_api.py
# checks it against another workspace instead.
@isolation_list("analytics-journeys")
def analytics_journeys(workspace):
    _journey_with_numbers(workspace)
    return {}, ["secret-analytics-journey"]


@isolation_list("analytics-channels")
def analytics_channels(workspace):
    from channels_app.models import Message

    Message.objects.for_workspace(workspace).create(
        workspace=workspace, channel="email", provider="secret-analytics-provider", to="a@b.test"
    )
    return {}, ["secret-analytics-provider"]
