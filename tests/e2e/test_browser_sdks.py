"""The README's "Track from your website" snippets, as written, bundled with the real npm
@segment/analytics-next and @rudderstack/analytics-js (esbuild, as a site's build would), served
by a web site on its own origin and run in Chromium with a publishable key: the visitor is
tracked anonymously, then the README's own identify/track/page lines run, in order, and the
tracked event drives a journey."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from audiences.models import Customer, Event
from tests.conftest import make_client, wait_for
from tests.segment_api.test_sdks import _welcome_journey

from .sites import Site

ROOT = Path(settings.BASE_DIR)
FRONTEND = ROOT / "frontend"
ESBUILD = FRONTEND / "node_modules" / ".bin" / "esbuild"
PLACEHOLDER_KEY, PLACEHOLDER_HOST = "wm_pk_…", "https://waymark.example.com"
# What each SDK's snippet exports, and how the page calls it.
SDKS = {
    "segment": {"marker": "AnalyticsBrowser.load(", "export": "analytics"},
    "rudderstack": {"marker": "rudderanalytics.load(", "export": "rudderanalytics"},
}
PAGE = (b'<!doctype html><html><head><title>Shop</title><script src="/site.js"></script></head>'
        b"<body><h1>Shop</h1></body></html>")


def readme_snippet(marker: str) -> str:
    """The README's ```js block holding `marker`, exactly as a reader would copy it."""
    section = (ROOT / "README.md").read_text().split("## Track from your website", 1)[1].split("\n## ", 1)[0]
    blocks = [b for b in re.findall(r"```js\n(.*?)```", section, flags=re.S) if marker in b]
    assert len(blocks) == 1, f"README's 'Track from your website' has no single snippet with {marker}"
    return blocks[0]


def readme_key_request(origin: str) -> dict:
    """The body of the README's `curl` that makes a publishable key, for the site's origin."""
    section = (ROOT / "README.md").read_text().split("## Track from your website", 1)[1].split("\n## ", 1)[0]
    (curl,) = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert "/api/v1/api-keys" in curl
    body = json.loads(re.search(r"-d '(.*?)'", curl, flags=re.S).group(1))
    assert body["allowed_origins"] == ["https://shop.example"]
    return {**body, "allowed_origins": [origin]}


def readme_calls(export: str) -> list[str]:
    """The README's lines after "Then, with either", each a call on the page's `export`
    (`rudderanalytics` in place of `analytics`, as the README says)."""
    lines = [line.strip() for line in readme_snippet("analytics.identify(").splitlines() if line.strip()]
    assert all(line.startswith("analytics.") for line in lines), lines
    return [f"site.{export}" + line[len("analytics"):] for line in lines]


def bundle(snippet: str, *, key: str, host: str) -> bytes:
    """The snippet with the reader's key and server filled in, bundled from frontend/node_modules
    into one script whose exports are `window.site`."""
    assert PLACEHOLDER_KEY in snippet and PLACEHOLDER_HOST in snippet
    source = snippet.replace(PLACEHOLDER_KEY, key).replace(PLACEHOLDER_HOST, host)
    built = subprocess.run(
        [str(ESBUILD), "--bundle", "--format=iife", "--global-name=site", "--platform=browser",
         "--target=es2020", "--log-level=error", "--loader=js"],
        input=source.encode(), cwd=FRONTEND, capture_output=True, timeout=120,
    )
    assert built.returncode == 0, built.stderr.decode()[-2000:]
    return built.stdout


@pytest.fixture
def site():
    made = Site({"/": (PAGE, "text/html")})
    yield made
    made.close()


def customer(workspace, external_id: str):
    return Customer.objects.for_workspace(workspace).filter(external_id=external_id).first()


@pytest.mark.parametrize("sdk", list(SDKS))
def test_the_readme_snippet_tracks_a_visitor_and_drives_a_journey(
    sdk, live_server_url, browser_page, workspace, api, site
):
    created = make_client(workspace).post("/api/v1/api-keys", readme_key_request(site.origin), format="json")
    assert created.status_code == 201, created.json()
    key = created.json()["key"]
    assert key.startswith("wm_pk_")
    site.files["/site.js"] = (bundle(readme_snippet(SDKS[sdk]["marker"]), key=key, host=live_server_url),
                              "text/javascript")
    journey_id = _welcome_journey(api)  # signed_up → plan is pro? → set welcomed_as
    sent: list[str] = []
    browser_page.on("request", lambda r: sent.append(r.url))

    browser_page.goto(site.origin + "/")
    client = f"site.{SDKS[sdk]['export']}"
    call = f"async () => {{ await {client}.%s; return true; }}"

    # An anonymous visitor views a product; then logs in and signs up: the README's lines.
    assert browser_page.evaluate(call % "track('viewed_product', { sku: 'A1' })")
    anonymous = wait_for(
        lambda: Event.objects.for_workspace(workspace).filter(name="viewed_product").select_related("customer").first(),
        timeout=30,
    )
    assert anonymous.customer.external_id.startswith("anon:")
    identify, *later = readme_calls(SDKS[sdk]["export"])  # identify, then track and page
    assert ".identify(" in identify
    assert browser_page.evaluate(f"async () => {{ await {identify}; return true; }}")
    # The SDKs queue a call and return: RudderStack's sends every queued call at once, so a track
    # made right after identify may reach the server first (the README says so). The journey below
    # branches on the identify's `plan`, so its track waits until the profile holds it.
    identified = wait_for(lambda: (c := customer(workspace, "user-42")) and c.attributes.get("plan") == "pro" and c,
                          timeout=30)
    assert identified.email == "ann@example.com" and identified.attributes["first_name"] == "Ann"
    for line in later:
        assert browser_page.evaluate(f"async () => {{ await {line}; return true; }}")

    def completed():
        response = api.get(f"/api/v1/journeys/{journey_id}/enrollments/user-42")
        return response.status_code == 200 and response.json()["state"] == "completed" and response.json()

    enrollment = wait_for(completed, timeout=60)
    passed = [(h["node_id"], h["handle"]) for h in enrollment["history"] if h["kind"] == "passed"]
    assert passed == [("start", "next"), ("plan", "pro"), ("tag", "next")]
    assert customer(workspace, "user-42").attributes["welcomed_as"] == "Ann (web)"
    wait_for(lambda: Event.objects.for_workspace(workspace).filter(name="page_viewed").exists(), timeout=30)
    # Every event is the identified customer's: the anonymous visit was merged into user-42.
    owners = set(Event.objects.for_workspace(workspace).values_list("customer__external_id", "name"))
    assert owners == {("user-42", "viewed_product"), ("user-42", "signed_up"), ("user-42", "page_viewed")}
    assert not Customer.objects.for_workspace(workspace).filter(external_id__startswith="anon:").exists()
    # The page talked to its own origin and to Waymark only (no SDK vendor's CDN or API).
    hosts = {re.match(r"https?://[^/]+", url).group(0) for url in sent}
    assert hosts <= {site.origin, live_server_url}, hosts
