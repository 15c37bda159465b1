"""Liquid is sandboxed wherever a marketer's template runs: message content
and the update-profile node's values (on the engine's hot path). No file access, bounded loops,
bounded output, and a clock, so a template cannot read the server or exhaust a worker."""

from __future__ import annotations

import time

import pytest

from audiences.models import Customer
from templating import MAX_RENDER_SECONDS, RenderError, render_string
from journeys.enrollments import enrollments_create
from journeys.services import journey_create
from tests.conftest import wait_for
from tests.engine.helpers import chain, customers, enrollment, node, published

# Each stays inside what a plain Liquid environment happily renders (slowly, or hugely).
LOOP = "{% for i in (1..20000) %}x{% endfor %}"  # 20,000 iterations > the 10,000 ceiling
OUTPUT = "{% for i in (1..5000) %}" + "y" * 100 + "{% endfor %}"  # 500 kB > the 200 kB ceiling
FILE = "{% include '/etc/passwd' %}{% render 'settings.py' %}"
# ~3 ms of `split` per iteration on a 90 kB string: about 30 s of CPU without a clock.
SLOW = (
    "{% capture s %}{% for i in (1..9000) %}xxxxxxxxx{% endfor %}{% endcapture %}"
    "{% for i in (1..10000) %}{{ s | split: '' | size }}{% endfor %}"
)


@pytest.mark.parametrize("template", [LOOP, OUTPUT, FILE], ids=["loop", "output", "file"])
def test_message_rendering_refuses_runaway_templates(template):
    with pytest.raises(RenderError):
        render_string(template, {}, field="text")


def test_message_rendering_stops_at_the_clock():
    started = time.monotonic()
    with pytest.raises(RenderError, match="longer than"):
        render_string(SLOW, {}, field="text")
    assert time.monotonic() - started < MAX_RENDER_SECONDS + 5  # the clock, not the template, ended it


def _profile_journey(workspace, value: str) -> dict:
    return chain(node("start", "start"), node("u", "update_profile", {"set": {"bio": value}}), node("end", "exit"))


@pytest.mark.django_db
@pytest.mark.parametrize("template", [LOOP, OUTPUT, FILE, SLOW], ids=["loop", "output", "file", "clock"])
def test_update_profile_values_render_in_the_sandbox(api, workspace, template):
    journey = journey_create(workspace=workspace, actor=None, name="J",
                             graph=_profile_journey(workspace, template), settings={"entry": {"type": "api"}})
    started = time.monotonic()
    response = api.post(f"/api/v1/journeys/{journey.id}/simulate",
                        {"customer": {"external_id": "sim", "attributes": {"bio": "old"}}}, format="json")
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["state"] == "failed", result["state"]
    assert result["customer"]["attributes"]["bio"] == "old"  # nothing half-applied
    assert time.monotonic() - started < MAX_RENDER_SECONDS + 10


@pytest.mark.django_db
def test_update_profile_plain_values_and_templates_still_render(api, workspace):
    graph = chain(node("start", "start"), node("u", "update_profile", {"set": {
        "greeting": "Hi {{ customer.name | default: 'there' }} from {{ journey.name }}",
        "plain": "50% off {not Liquid}", "score": 3,
    }}), node("end", "exit"))
    journey = journey_create(workspace=workspace, actor=None, name="Welcome", graph=graph,
                             settings={"entry": {"type": "api"}})
    result = api.post(f"/api/v1/journeys/{journey.id}/simulate",
                      {"customer": {"external_id": "sim", "attributes": {"name": "Ada"}}}, format="json").json()
    assert result["state"] == "completed"
    assert result["customer"]["attributes"] == {"name": "Ada", "greeting": "Hi Ada from Welcome",
                                                "plain": "50% off {not Liquid}", "score": 3}


def test_update_profile_runaway_template_fails_the_enrollment_in_the_engine(workspace, celery_worker):
    """Through a real worker: the enrollment fails with a Liquid reason and the profile is unchanged."""
    journey = published(workspace, _profile_journey(workspace, LOOP))
    (customer,) = customers(workspace, attributes={"bio": "old"})
    enrollments_create(journey=journey, customer_ids=[customer.id])
    failed = wait_for(lambda: (e := enrollment(journey, customer)) is not None and e.state == "failed" and e,
                      timeout=30)
    assert "liquid" in (failed.exit_reason or "").lower(), failed.exit_reason
    assert Customer.objects.for_workspace(workspace).get(pk=customer.pk).attributes == {"bio": "old"}
