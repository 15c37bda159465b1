"""axe-core on every page of the app, signed in as a marketer with a journey, a customer, a
segment and a list to show: no violation of serious or critical impact. Each page is checked as it
first shows, and the canvas also with a step's settings panel open."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from .test_canvas import account, node, sign_in  # noqa: F401  (fixtures and helpers)
from .test_canvas_message_form import _email_journey

pytestmark = pytest.mark.e2e

SERIOUS = {"serious", "critical"}


def _problems(page: Page, axe: Axe) -> list[str]:
    results = axe.run(page, options={"resultTypes": ["violations"]})
    found = []
    for v in results.response["violations"]:
        if v["impact"] in SERIOUS:
            targets = "; ".join(" ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"])
                                for n in v["nodes"][:4])
            found.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])}×): {v['help']} — {targets}")
    return found


def test_every_page_has_no_serious_or_critical_axe_violation(live_server_url, account, browser_page):  # noqa: F811
    api = account
    journey_id = _email_journey(api)
    segment = api.post("/segments", json={"name": "Lisbon", "condition": {"attribute": "city", "op": "eq", "value": "Lisbon"}})
    assert segment.status_code == 201, segment.text
    assert api.post("/lists", json={"name": "VIP"}).status_code == 201
    page = browser_page
    axe = Axe()
    report: dict[str, list[str]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state("networkidle")
        report[name] = _problems(page, axe)

    page.goto(live_server_url + "/")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    check("sign-in")
    sign_in(page, live_server_url)
    expect(page.get_by_role("heading", name="Journeys", exact=True)).to_be_visible()
    check("journeys")

    page.goto(f"{live_server_url}/journeys/{journey_id}")
    expect(node(page, "mail")).to_be_visible()
    check("journey canvas")
    node(page, "mail").click()
    expect(page.get_by_test_id("node-panel")).to_be_visible()
    check("journey canvas, a step's settings")

    pages = {
        "customers": "/audiences",
        "customer": "/audiences/customers/ada",
        "segments": "/audiences/segments",
        "segment builder": f"/audiences/segments/{segment.json()['id']}",
        "lists": "/audiences/lists",
        "import": "/audiences/import",
        "channels": "/channels",
        "analytics": "/analytics",
        "journey dashboard": f"/analytics/journeys/{journey_id}",
        "settings": "/settings",
        "not found": "/no-such-page",
    }
    for name, path in pages.items():
        page.goto(live_server_url + path)
        expect(page.locator("main h1, main h2").first).to_be_visible()
        expect(page.locator("main .loading")).to_have_count(0)
        check(name)

    failing = {k: v for k, v in report.items() if v}
    assert not failing, "\n".join(f"{page_name}:\n  " + "\n  ".join(v) for page_name, v in failing.items())
