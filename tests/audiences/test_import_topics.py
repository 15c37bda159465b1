"""CSV import of topic choices: a `topic:<key>` column with true/false/yes/no/1/0 (any case) sets
the customer's subscription; an empty cell leaves it; another value is that line's error; a column
naming no topic of the workspace refuses the file. Both parsing paths are exercised: the column
path (every line well-formed) and the row path (a broken line in the batch)."""

from __future__ import annotations

import pytest

from audiences.models import Customer
from audiences.topics import Topic

from .factories import CustomerFactory
from .test_import import finished, upload


@pytest.fixture
def topics(workspace):
    for key in ("news", "deals"):
        Topic.objects.for_workspace(workspace).create(workspace=workspace, key=key, name=key)


@pytest.mark.parametrize("broken_line", [False, True], ids=["column-path", "row-path"])
def test_topic_columns_set_subscriptions(celery_worker, api, workspace, topics, broken_line):
    CustomerFactory(workspace=workspace, external_id="old", subscriptions={"news": True, "deals": True})
    csv = (
        "external_id,Topic:news,topic:deals,plan\r\n"
        "a,yes,0,pro\r\n"
        "b,FALSE,,free\r\n"
        "c,maybe,1,pro\r\n"  # line 4: not a choice
        "old,no,,pro\r\n"
        + ("broken\r\n" if broken_line else "")
    )
    data = finished(api, upload(api, csv.encode()).json()["import_id"])
    assert data["status"] == "done", data
    errors = [(e["line"], e["error"]) for e in data["errors"]]
    assert errors[0][0] == 4 and "topic:news" in errors[0][1] and "maybe" in errors[0][1]
    assert len(errors) == (2 if broken_line else 1)
    customers = {c.external_id: c for c in Customer.objects.for_workspace(workspace)}
    assert customers["a"].subscriptions == {"news": True, "deals": False}
    assert customers["b"].subscriptions == {"news": False}
    assert customers["old"].subscriptions == {"news": False, "deals": True}  # merged, empty cell kept
    assert "c" not in customers
    assert customers["a"].attributes == {"plan": "pro"}  # topic columns are not attributes


def test_a_column_naming_no_topic_refuses_the_file(celery_worker, api, workspace, topics):
    data = finished(api, upload(api, b"external_id,topic:gone\r\na,yes\r\n").json()["import_id"])
    assert data["status"] == "failed" and "topic:gone" in data["message"]
    assert not Customer.objects.for_workspace(workspace).exists()
