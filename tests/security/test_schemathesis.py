"""Schemathesis against /api/v1/schema, in two phases, every finding failing the suite: no answer is
a 5xx, and every answer (status, content type, body) is the one the schema documents.

- Stateless: every operation, with valid and invalid inputs in each media type it accepts (JSON,
  form-encoded, multipart: schemathesis draws the body's media type from the operation's request
  body, so the form and multipart parsers are fuzzed as often as JSON).
- Stateful: chains of calls that follow the links schemathesis infers between operations (an id
  created by one is read, changed and deleted by the next), so objects that exist are exercised,
  not only the 404 of a made-up id.

Bounded so the suite stays fast (about a minute here, of a ~15 minute suite): a few examples per
operation and a few short workflows. Raise FUZZ_EXAMPLES / FUZZ_WORKFLOWS locally for a deeper run."""

from __future__ import annotations

import os
import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from tests.conftest import make_client
from workspaces.redis import get_redis

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
WORKFLOWS = int(os.environ.get("FUZZ_WORKFLOWS", "25"))
WORKFLOW_STEPS = 8

# The bar: no 5xx, and every answer as documented. Whether invalid input is always refused
# and valid input always accepted is a wider question (negative_data_rejection,
# positive_data_acceptance), left out on purpose.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_wsgi("/api/v1/schema?format=json", get_wsgi_application())
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES,
    deterministic=True,
)
# Provider callbacks are signed by providers (test_webhooks.py); the session endpoints change who
# is logged in, not data, and are covered by test_requests.py.
schema = schema.exclude(path_regex=r"^/api/v1/(hooks/|auth/)")


@pytest.fixture
def owner_key(workspace) -> str:
    return make_client(workspace).raw_key


def _keep_connection_open() -> None:
    """Django's test client keeps the test's transaction open by not closing the connection at
    the end of a request (and reconnects the closing handlers after each of its own requests);
    schemathesis calls the WSGI app directly, so do the same."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)


@pytest.fixture(autouse=True)
def _keep_test_connection():
    _keep_connection_open()
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=EXAMPLES)
def test_api_never_500s_and_keeps_its_schema(case, owner_key, api_answers):
    headers = {"Authorization": f"Bearer {owner_key}"}
    response = case.call(headers=headers)
    api_answers[response.status_code] += 1  # counted before validating: a 500 shows in the figures
    case.validate_response(response, headers=headers, checks=CHECKS)


@pytest.mark.django_db
def test_api_workflows_never_500_and_keep_the_schema(owner_key, api_answers):
    """The stateful phase: objects created by one call are used by the next (links inferred from
    the schema); GET /customers/{id}/inbox answering a page where the schema said a list was a
    finding of this phase."""
    headers = {"Authorization": f"Bearer {owner_key}"}

    class Workflow(schema.as_state_machine()):
        # Each workflow starts from the same database and Redis state, so hypothesis can replay a
        # failing one exactly (what a workflow may do next depends on what earlier calls answered).
        def setup(self):
            self.savepoint = transaction.savepoint()
            get_redis().flushdb()

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)

        def get_call_kwargs(self, case):
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            api_answers[response.status_code] += 1
            case.validate_response(response, headers=headers, checks=CHECKS)

    Workflow.run(
        settings=settings(
            max_examples=WORKFLOWS, stateful_step_count=WORKFLOW_STEPS, deadline=None,
            suppress_health_check=list(HealthCheck), derandomize=True,
        )
    )


@pytest.fixture
def seeded(workspace) -> dict[str, str]:
    """One of each object a read can address, made through the API: resource → its id."""
    from tests.engine.helpers import chain, node, published

    client = make_client(workspace)
    client.post("/api/v1/customers", {"customers": [{"external_id": "c1", "attributes": {"plan": "pro"}}]}, format="json")
    client.post("/api/v1/events", {"events": [{"customer_id": "c1", "name": "signup"}]}, format="json")
    journey = published(workspace, chain(node("start", "start"), node("end", "exit")))
    client.post(f"/api/v1/journeys/{journey.id}/enrollments", {"customer_ids": ["c1"]}, format="json")
    ids = {
        "lists": client.post("/api/v1/lists", {"name": "l"}, format="json").json()["id"],
        "segments": client.post(
            "/api/v1/segments", {"name": "s", "condition": {"attribute": "plan", "op": "eq", "value": "pro"}}, format="json"
        ).json()["id"],
        "journeys": journey.id,
        "api-keys": client.get("/api/v1/api-keys").json()["results"][0]["id"],
        "members": client.get("/api/v1/members").json()["results"][0]["id"],
    }
    _keep_connection_open()  # the test client's requests above reconnected the closing handlers
    return {name: str(value) for name, value in ids.items()}


def _path_parameters(path: str, seeded: dict[str, str]) -> dict[str, str]:
    resource = path.removeprefix("/api/v1/").split("/")[0]
    values = {}
    for name in re.findall(r"\{(\w+)\}", path):
        if name in ("external_id", "customer_id"):
            values[name] = "c1"
        elif name == "journey_id":
            values[name] = seeded["journeys"]
        else:  # an object not seeded answers its documented 404
            values[name] = seeded.get(resource, "1")
    return values


@pytest.mark.django_db
def test_every_read_of_existing_objects_keeps_the_schema(seeded, owner_key, api_answers):
    """Deterministic where fuzzing is not: every GET, on objects that exist, answers as documented
    (made-up ids mostly reach the 404 of a missing object, whose body is not the one in question)."""
    headers = {"Authorization": f"Bearer {owner_key}"}
    found, findings = 0, []
    for operation in schema.get_all_operations():
        operation = operation.ok()
        if operation.method.upper() != "GET" or not operation.path.startswith("/api/v1/"):
            continue
        case = operation.Case(path_parameters=_path_parameters(operation.path, seeded))
        response = case.call(headers=headers)
        api_answers[response.status_code] += 1
        found += response.status_code == 200
        try:
            case.validate_response(response, headers=headers, checks=CHECKS)
        except FailureGroup as finding:  # collect them all, then fail
            findings.append(f"{operation.label}: {finding}")
    assert not findings, "\n\n".join(findings)
    assert found >= 30  # most reads found their object
