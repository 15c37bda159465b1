"""The workspace frequency cap is exact under concurrency: many workers preparing a marketing
message for the same customer at the same instant (threads, each on its own database connection,
released together by a barrier) let exactly `max` through; and two batches holding each other's
customers defer a step instead of failing on a database deadlock."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from audiences.models import Customer
from channels_app.models import Message
from channels_app.services import MessageStep, channel_create, message_prepare
from workspaces.models import Workspace

WORKERS = 6


def _prepare_at_once(workspace_id: int, customer_id: int, node_ids: list[str]) -> list[str]:
    barrier = threading.Barrier(len(node_ids))
    outcomes: dict[str, str] = {}

    def worker(node_id: str):
        try:
            workspace = Workspace.objects.get(pk=workspace_id)
            customer = Customer.objects.for_workspace(workspace).get(pk=customer_id)
            barrier.wait(timeout=10)
            with transaction.atomic():  # as the engine: the message commits with its batch
                outcome = message_prepare(
                    step=MessageStep(
                        workspace=workspace,
                        customer=customer,
                        config={"channel": "sms", "content": {"text": "Sale"}},
                        node_id=node_id,
                    )
                )
            outcomes[node_id] = outcome.kind if outcome.kind == "queued" else outcome.reason
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in node_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return [outcomes.get(n, "missing") for n in node_ids]


@pytest.mark.parametrize("cap", [1, 2])
def test_concurrent_sends_to_one_customer_pass_the_cap_exactly(transactional_db, cap):
    workspace = Workspace.objects.create(
        name="Race", slug=f"race-{cap}", frequency_cap={"max": cap, "per": {"value": 1, "unit": "days"}}
    )
    channel_create(workspace=workspace, channel="sms", provider="sandbox", name="S")
    customer = Customer.objects.for_workspace(workspace).create(
        workspace=workspace, external_id="racer", phone="+15550001"
    )
    results = _prepare_at_once(workspace.pk, customer.pk, [f"m{i}" for i in range(WORKERS)])
    assert sorted(results) == sorted(["queued"] * cap + ["frequency_capped"] * (WORKERS - cap))
    stored = Message.objects.for_workspace(workspace).exclude(status="failed").count()
    assert stored == cap


def test_two_batches_taking_the_same_customers_in_opposite_orders_defer_instead_of_deadlocking(
    transactional_db,
):
    """As two engine batches: each transaction prepares for one customer, then (both holding
    their first customer's count) for the other's. Neither may fail the customer with a database
    deadlock: the second step of each is deferred for a retry, and nothing was sent twice."""
    workspace = Workspace.objects.create(
        name="Cross", slug="cross", frequency_cap={"max": 5, "per": {"value": 1, "unit": "days"}}
    )
    channel_create(workspace=workspace, channel="sms", provider="sandbox", name="S")
    ann, bob = (
        Customer.objects.for_workspace(workspace).create(workspace=workspace, external_id=x, phone="+15550001")
        for x in ("ann", "bob")
    )
    barrier = threading.Barrier(2)
    outcomes: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def batch(name: str, order: list[int]):
        try:
            ws = Workspace.objects.get(pk=workspace.pk)
            with transaction.atomic():
                kinds = []
                for n, customer_id in enumerate(order):
                    customer = Customer.objects.for_workspace(ws).get(pk=customer_id)
                    with transaction.atomic():  # the engine's savepoint around a message step
                        outcome = message_prepare(step=MessageStep(
                            workspace=ws, customer=customer, node_id=f"{name}{n}",
                            config={"channel": "sms", "content": {"text": "x"}},
                        ))
                    kinds.append(outcome.kind)
                    if n == 0:
                        barrier.wait(timeout=10)
                outcomes[name] = kinds
        except BaseException as exc:  # noqa: BLE001 - the test reports whatever ended a batch
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=batch, args=("a", [ann.pk, bob.pk])),
        threading.Thread(target=batch, args=("b", [bob.pk, ann.pk])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert [kinds[0] for kinds in outcomes.values()] == ["queued", "queued"]
    # At least one batch gave up waiting and deferred its second step; the other may then have
    # got the count the first released at its commit.
    seconds = sorted(kinds[1] for kinds in outcomes.values())
    assert seconds in (["defer", "defer"], ["defer", "queued"])
    assert Message.objects.for_workspace(workspace).count() == 2 + seconds.count("queued")
