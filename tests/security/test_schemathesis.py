"""Schemathesis against /api/v1/schema: every operation, with valid and invalid inputs and an owner
key, never answers 500 and never answers outside its documented schema. Bounded (a few examples
per operation) so the suite stays fast; raise FUZZ_EXAMPLES locally for a deeper run."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings

from schemathesis import GenerationMode

from tests.conftest import make_client

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))

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


@pytest.mark.django_db
@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=EXAMPLES)
def test_api_never_500s_and_keeps_its_schema(case, owner_key):
    case.call_and_validate(headers={"Authorization": f"Bearer {owner_key}"})
