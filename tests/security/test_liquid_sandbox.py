"""Liquid is sandboxed wherever a marketer's template runs: message content (previews, sends)
and the update-profile node's values (on the engine's hot path), all through `templating`. No file
access, bounded loops, output, ranges and filter results, and a clock, so a template cannot read
the server or exhaust a web or worker process."""

from __future__ import annotations

import time
import tracemalloc
from contextlib import contextmanager

import pytest

from audiences.models import Customer
from journeys.enrollments import enrollments_create
from journeys.services import journey_create
from templating import MAX_RENDER_SECONDS, RenderError, render_liquid, render_string
from tests.conftest import wait_for
from tests.engine.helpers import chain, customers, enrollment, node, published

# Each stays inside what a plain Liquid environment happily renders (slowly, or hugely).
LOOP = "{% for i in (1..20000) %}x{% endfor %}"  # 20,000 iterations > the 10,000 ceiling
OUTPUT = "{% for i in (1..5000) %}" + "y" * 100 + "{% endfor %}"  # 500 kB > the 200 kB ceiling
FILE = "{% include '/etc/passwd' %}{% render 'settings.py' %}"
# ~1 ms of `split` per iteration on a 90 kB string (9,000 items, inside the size bounds): about
# 10 s of CPU without a clock.
SLOW = (
    "{% capture s %}{% for i in (1..9000) %}xxxxxxxx,{% endfor %}{% endcapture %}"
    "{% for i in (1..10000) %}{{ s | split: ',' | size }}{% endfor %}"
)


# One filter call the clock cannot interrupt: each builds a huge list or string in one go. Sizes
# are a fraction of the reported probe ((1..100000000) | reverse: 12 s, ~4 GB), enough that an
# unbounded render peaks far over the 50 MB ceiling while a failing run stays short.
_BIG = 3_000_000
# 1,000 ten-character pieces: 10 kB.
_PARAGRAPH = "{% capture s %}{% for i in (1..1000) %}xxxxxxxxxx{% endfor %}{% endcapture %}"
EXHAUSTING = {
    "range_reverse": f"{{% assign r = (1..{_BIG}) | reverse %}}done",
    "range_join": f"{{{{ (1..{_BIG}) | join }}}}",
    "range_sort": f"{{% assign r = (1..{_BIG}) | sort %}}done",
    "reversed_loop": f"{{% for i in (1..{_BIG}) reversed %}}{{% break %}}{{% endfor %}}",
    # each of the 10,000 x's replaced by the whole 10 kB text: 100 M characters.
    "replace": _PARAGRAPH + "{{ s | replace: 'x', s | size }}",
}
MAX_GROWTH_BYTES = 50 * 1024 * 1024


@contextmanager
def bounded_run():
    """Asserts that the block allocates under 50 MB at its peak and uses under a second of CPU
    (this thread's, so a busy machine does not fail it) plus the request's own work."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        started = time.thread_time()
        yield
        cpu = time.thread_time() - started
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert peak < MAX_GROWTH_BYTES, f"peak allocation {peak / 1e6:.0f} MB"
    assert cpu < MAX_RENDER_SECONDS + 0.5, f"{cpu:.1f} s of CPU"


def _preview(api, text: str):
    return api.post(
        "/api/v1/messages/preview",
        {"channel": "sms", "attributes": {}, "content": {"text": text}},
        format="json",
    )


@pytest.mark.parametrize("template", EXHAUSTING.values(), ids=EXHAUSTING.keys())
def test_one_filter_call_cannot_exhaust_the_process(template):
    with bounded_run(), pytest.raises(RenderError, match="more than"):
        render_string(template, {}, field="text")


@pytest.mark.django_db
@pytest.mark.parametrize("template", EXHAUSTING.values(), ids=EXHAUSTING.keys())
def test_message_preview_answers_400_for_exhausting_templates(api, template):
    assert _preview(api, "hi {{ customer.name }}").status_code == 200  # the process's first-request setup
    with bounded_run():
        response = _preview(api, template)
    assert response.status_code == 400, response.content
    assert "more than" in response.json()["error"]["details"]["content"]["text"][0]


# Parsing is not under the render clock: markup costs ~300 bytes and ~14 µs per character.
COSTLY_TO_PARSE = {
    # 2 MB of `{{ a }}`: ~600 MB of parse tree.
    "source_length": ("{{ a }}" * 300_000, "at most 200,000 characters"),
    # ~195 kB of one filter's arguments: ~2.7 s and ~52 MB to parse.
    "markup_args": ("{{ a | f: " + ",".join(["1"] * 97_000) + " }}", "characters of Liquid markup"),
    # ~195 kB of one `or` chain: ~66 MB before the parser gives up.
    "markup_or_chain": ("{% if " + " or ".join(["a"] * 39_000) + " %}y{% endif %}", "characters of Liquid markup"),
}


@pytest.mark.django_db
@pytest.mark.parametrize(("template", "problem"), COSTLY_TO_PARSE.values(), ids=COSTLY_TO_PARSE.keys())
def test_message_preview_refuses_templates_too_costly_to_parse(api, template, problem):
    assert _preview(api, "hi {{ customer.name }}").status_code == 200  # the process's first-request setup
    with bounded_run():
        response = _preview(api, template)
    assert response.status_code == 400, response.content
    assert problem in response.json()["error"]["details"]["content"]["text"][0]


def test_a_long_email_body_with_little_markup_still_renders():
    body = "<p style='margin:0;padding:8px;font-family:Arial'>Static text of an email.</p>\n" * 1_500
    template = "Hi {{ customer.first_name }}! " + body + "{% for t in customer.tags %}{{ t }}{% endfor %}"
    rendered = render_liquid(template, {"customer": {"first_name": "Ada", "tags": ["a", "b"]}})
    assert rendered.startswith("Hi Ada! ") and rendered.endswith("ab") and len(rendered) > 100_000


def test_the_render_cache_holds_a_bounded_amount_of_text():
    """Every distinct customer value is a new cache entry; 300 renders of ~190 kB each would keep
    ~57 MB alive if the cache counted entries instead of characters."""
    template = "{{ customer.n }}{% for i in (1..1900) %}" + "y" * 100 + "{% endfor %}"
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        for n in range(300):
            render_liquid(template, {"customer": {"n": n}})
        retained = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert retained < 20 * 1024 * 1024, f"{retained / 1e6:.0f} MB retained"


def test_ordinary_templates_still_use_ranges_lists_and_numbers():
    template = (
        "{% for i in (1..3) reversed %}{{ i }}{% endfor %} "
        "{{ 'b,a,b' | split: ',' | uniq | sort | join: '+' }} "
        "{{ 'ab' | replace: 'a', 'xyz' | append: '!' }} {{ 12 | times: 3 }} {{ (1..4) | join: '' }}"
    )
    assert render_liquid(template, {}) == "321 a+b xyzb! 36 1234"


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


def _simulate_profile_update(api, workspace, template: str) -> dict:
    journey = journey_create(workspace=workspace, actor=None, name="J",
                             graph=_profile_journey(workspace, template), settings={"entry": {"type": "api"}})
    response = api.post(f"/api/v1/journeys/{journey.id}/simulate",
                        {"customer": {"external_id": "sim", "attributes": {"bio": "old"}}}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("template", [LOOP, OUTPUT, FILE, SLOW], ids=["loop", "output", "file", "clock"])
def test_update_profile_values_render_in_the_sandbox(api, workspace, template):
    started = time.monotonic()
    result = _simulate_profile_update(api, workspace, template)
    assert result["state"] == "failed", result["state"]
    assert result["customer"]["attributes"]["bio"] == "old"  # nothing half-applied
    assert time.monotonic() - started < MAX_RENDER_SECONDS + 10


@pytest.mark.django_db
@pytest.mark.parametrize("template", EXHAUSTING.values(), ids=EXHAUSTING.keys())
def test_update_profile_fails_exhausting_templates_within_bounds(api, workspace, template):
    """The engine's path (simulate runs the same executors): the enrollment fails with the
    limit as its reason, the profile is unchanged, and the process stays within bounds."""
    assert _simulate_profile_update(api, workspace, "{{ 'new' }}")["state"] == "completed"  # setup
    with bounded_run():
        result = _simulate_profile_update(api, workspace, template)
    assert result["state"] == "failed", result["state"]
    assert result["customer"]["attributes"]["bio"] == "old"


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
