"""factory-boy factories for audiences rows."""

import factory
from django.utils import timezone

from audiences.models import Customer, CustomerList, Event, ListMember, Segment


class WorkspaceModelFactory(factory.django.DjangoModelFactory):
    """Tenant rows are created through the unscoped manager (the scoped one refuses to guess)."""

    class Meta:
        abstract = True

    @classmethod
    def _get_manager(cls, model_class):
        return model_class.all_workspaces


class CustomerFactory(WorkspaceModelFactory):
    class Meta:
        model = Customer

    external_id = factory.Sequence(lambda n: f"cust-{n}")
    email = factory.LazyAttribute(lambda o: f"{o.external_id}@example.com")
    attributes = factory.LazyFunction(dict)


class EventFactory(WorkspaceModelFactory):
    class Meta:
        model = Event

    workspace = factory.SelfAttribute("customer.workspace")
    name = "purchase"
    properties = factory.LazyFunction(dict)
    occurred_at = factory.LazyFunction(timezone.now)


class SegmentFactory(WorkspaceModelFactory):
    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"segment {n}")
    condition = factory.LazyFunction(lambda: {"attribute": "plan", "op": "eq", "value": "pro"})


class CustomerListFactory(WorkspaceModelFactory):
    class Meta:
        model = CustomerList

    name = factory.Sequence(lambda n: f"list {n}")


class ListMemberFactory(WorkspaceModelFactory):
    class Meta:
        model = ListMember

    workspace = factory.SelfAttribute("customer.workspace")
