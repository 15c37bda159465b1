from audiences.models import ImportJob
from journeys.models import Enrollment
from journeys.services import journey_start
from tests.conftest import sandbox_channels
from tests.isolation import isolation_case, isolation_list
from tests.journeys.builders import make_journey

from .factories import (
    CustomerFactory,
    CustomerListFactory,
    EventFactory,
    ListMemberFactory,
    SegmentFactory,
)


@isolation_case("customer-detail")
@isolation_list("customer-list")
def customer(workspace):
    c = CustomerFactory(workspace=workspace, external_id="secret.id@x/y", email="secret-person@example.com")
    return {"external_id": c.external_id}, ["secret.id@x/y", "secret-person@example.com"]


@isolation_case("segment-detail", "segment-count")
@isolation_list("segment-list")
def segment(workspace):
    CustomerFactory(workspace=workspace, attributes={"plan": "secret-plan"})
    s = SegmentFactory(
        workspace=workspace, name="secret-segment", condition={"attribute": "plan", "op": "eq", "value": "secret-plan"}
    )
    return {"pk": s.pk}, ["secret-segment", "secret-plan"]


@isolation_case("list-detail", "list-members")
@isolation_list("list-list")
def customer_list(workspace):
    lst = CustomerListFactory(workspace=workspace, name="secret-list")
    ListMemberFactory(customer_list=lst, customer=CustomerFactory(workspace=workspace, external_id="secret-member"))
    return {"pk": lst.pk}, ["secret-list", "secret-member"]


@isolation_case("import-detail")
@isolation_list("import-list")
def import_job(workspace):
    job = ImportJob.objects.unscoped().create(
        workspace=workspace, errors=[{"line": 2, "error": "secret-error"}], message="secret-message"
    )
    return {"pk": job.pk}, ["secret-message", "secret-error"]


@isolation_case("customer-events", "customer-enrollments")
def customer_reads(workspace):
    """A customer with an event and a journey pass: neither may show through another workspace."""
    c = CustomerFactory(workspace=workspace, external_id="secret.reader@x/y", email="secret-reader@example.com")
    EventFactory(customer=c, name="secret_event", properties={"sku": "secret-sku"})
    sandbox_channels(workspace, "email")  # the journey's email needs a channel to start
    journey = journey_start(journey=make_journey(workspace, name="secret-journey"), actor=None)
    Enrollment.all_workspaces.create(
        workspace=workspace, journey=journey, version=journey.live_version, customer=c, node_id="wait",
        state=Enrollment.State.WAITING,
    )
    return {"external_id": c.external_id}, ["secret.reader", "secret_event", "secret-sku", "secret-journey"]


@isolation_case("topic-detail")
@isolation_list("topic-list")
def topic(workspace):
    from audiences.topics import Topic

    Topic.objects.for_workspace(workspace).create(workspace=workspace, key="secret-topic", name="Secret topic name")
    return {"key": "secret-topic"}, ["secret-topic", "Secret topic name"]


@isolation_list("event-names")
def event_names(workspace):
    customer = CustomerFactory(workspace=workspace)
    EventFactory(workspace=workspace, customer=customer, name="secret_event", properties={"secret_prop": "secret-value"})
    return {}, ["secret_event", "secret_prop", "secret-value"]
