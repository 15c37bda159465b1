from journeys.enrollments import enrollments_create
from tests.engine.helpers import chain, customers, edge, node, published
from tests.isolation import isolation_case


def _enrolled(workspace):
    journey = published(workspace, chain(node("start", "start"), node("end", "exit")), name="secret-journey-name")
    (customer,) = customers(workspace, prefix="secret-customer-")
    enrollments_create(journey=journey, customer_ids=[customer.id])
    return journey, customer


@isolation_case("journey-enrollments", "journey-simulate")
def journey_with_enrollment(workspace):
    journey, _ = _enrolled(workspace)
    return {"journey_id": journey.pk}, ["secret-journey-name", "secret-customer-0"]


@isolation_case("journey-enrollment-detail")
def enrollment_detail(workspace):
    journey, customer = _enrolled(workspace)
    return {"journey_id": journey.pk, "customer_id": customer.external_id}, ["secret-journey-name", "secret-customer-0"]


@isolation_case("journey-node-winner")
def split_winner(workspace):
    split = node("secret-split", "split", {"paths": [{"id": "secret-path", "percent": 50}, {"id": "b", "percent": 50}]})
    journey = published(workspace, {"nodes": [node("start", "start"), split], "edges": [edge("start", "next", "secret-split")]},
                        name="secret-experiment-journey")
    return {"pk": journey.pk, "node_id": "secret-split"}, ["secret-experiment-journey", "secret-path"]
