"""The analytics pages end to end: an abandoned-cart journey runs on the real stack (web,
worker, beat rollups, timers); an ops person opens the overview, then the journey's dashboard,
and reads the same numbers as GET /journeys/{id}/analytics — summary, per node, per channel,
holdout — filters by dates, exports the CSV and saves a chart as PNG. The customer page of one
of those customers shows their events, journey timeline and messages."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from playwright.sync_api import Page, expect

from workspaces.models import User
from workspaces.services import api_key_create, workspace_create

PASSWORD = "e2e-password-123"
CUSTOMERS = 20
BUYERS = 6  # purchase while the journey waits for it: the goal, and the "event" handle
METRICS = ("sent", "delivered", "opened", "read", "clicked", "replied", "failed", "bounced")

pytestmark = pytest.mark.e2e


def _node(node_id, type_, name, config=None):
    return {
        "id": node_id,
        "type": type_,
        "name": name,
        "position": {"x": 0, "y": 0},
        "config": config or {},
    }


def _edge(source, handle, target):
    return {"source": source, "source_handle": handle, "target": target}


def _seconds(n):
    return {"value": n, "unit": "seconds"}


ABANDONED_CART = {
    "nodes": [
        _node("start", "start", "Cart abandoned"),
        _node("pause", "wait", "Wait a moment", {"mode": "duration", "duration": _seconds(1)}),
        _node(
            "reminder",
            "message",
            "Reminder email",
            {
                "channel": "email",
                "content": {
                    "subject": "You left something, {{ customer.first_name }}",
                    "html": "<p>Your cart is waiting.</p>",
                },
            },
        ),
        _node(
            "buy",
            "wait",
            "Wait for purchase",
            {"mode": "event", "event": "purchase", "timeout": _seconds(10)},
        ),
        _node(
            "nudge",
            "message",
            "SMS nudge",
            {"channel": "sms", "content": {"text": "Still thinking it over? Your cart is saved."}},
        ),
        _node("end", "exit", "Exit"),
    ],
    "edges": [
        _edge("start", "next", "pause"),
        _edge("pause", "next", "reminder"),
        _edge("reminder", "next", "buy"),
        _edge("reminder", "failed", "end"),
        _edge("buy", "event", "end"),
        _edge("buy", "timeout", "nudge"),
        _edge("nudge", "next", "end"),
        _edge("nudge", "failed", "end"),
    ],
}
SETTINGS = {
    "entry": {"type": "event", "events": [{"name": "cart_abandoned"}]},
    "re_entry": {"policy": "never"},
    "goals": [{"id": "purchased", "name": "Purchased", "condition": {"event": "purchase"}}],
    "holdout": {"percent": 20},
}


def wait_until(predicate, timeout=60.0, interval=0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not met within {timeout}s")
        time.sleep(interval)


@pytest.fixture
def ran_journey(live_server_url, sandbox_channels):
    """An abandoned-cart journey that has run for CUSTOMERS customers, with receipts posted."""
    user = User.objects.create_user("ops@example.com", PASSWORD)
    workspace = workspace_create(name="Acme Shop", owner=user)
    _, key = api_key_create(workspace=workspace, name="e2e backend")
    api = httpx.Client(
        base_url=f"{live_server_url}/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    sandbox_channels(api, from_email="shop@acme.test")
    people = [
        {
            "external_id": f"cust-{i:02d}",
            "email": f"cust{i}@example.com",
            "phone": f"+1415555{i:04d}",
            "attributes": {"first_name": f"Pat{i}"},
        }
        for i in range(CUSTOMERS)
    ]
    assert api.post("/customers", json={"customers": people}).status_code == 200
    journey = api.post(
        "/journeys", json={"name": "Abandoned cart", "graph": ABANDONED_CART, "settings": SETTINGS}
    ).json()
    started = api.put(f"/journeys/{journey['id']}/start", json={})
    assert started.status_code == 200, started.text

    events = [{"customer_id": p["external_id"], "name": "cart_abandoned"} for p in people]
    assert api.post("/events", json={"events": events}).status_code == 202
    # Each buyer purchases as soon as the journey waits for it (after the reminder went out):
    # one by one, so a loaded machine that spreads their arrivals does not make one time out.
    pending = [p["external_id"] for p in people[:BUYERS]]

    def buy_when_waiting():
        for who in list(pending):
            if api.get(f"/journeys/{journey['id']}/enrollments/{who}").json().get("node_id") == "buy":
                purchase = {"customer_id": who, "name": "purchase", "properties": {"amount": 80}}
                assert api.post("/events", json={"events": [purchase]}).status_code == 202
                pending.remove(who)
        return not pending

    wait_until(buy_when_waiting, timeout=60, interval=0.2)

    def settled():
        body = api.get(f"/journeys/{journey['id']}/analytics").json()
        s = body["summary"]
        return (
            s["started"] == CUSTOMERS
            and s["active"] == 0
            and s["completed"] + s["exited"] + s["failed"] == CUSTOMERS
        )

    wait_until(settled, timeout=90)
    # Receipts for some emails: delivered, opened, clicked (the ladder implies the lower ones).
    emails = api.get(
        "/messages", params={"journey_id": journey["id"], "node_id": "reminder", "limit": 100}
    ).json()["results"]
    assert emails, "the reminder emails were sent"
    for i, message in enumerate(emails[:8]):
        status = "clicked" if i < 2 else "opened" if i < 5 else "delivered"
        assert (
            api.post(f"/messages/{message['id']}/status", json={"status": status}).status_code
            == 200
        )
    wait_until(lambda: _email_delivered(api, journey["id"]) == 8, timeout=60)
    yield {"api": api, "journey": journey, "workspace": workspace}
    api.close()


def _email_delivered(api, journey_id) -> int:
    nodes = api.get(f"/journeys/{journey_id}/analytics").json()["nodes"]
    return next(n for n in nodes if n["node_id"] == "reminder")["messages"]["delivered"]


def sign_in(page: Page, url: str) -> None:
    page.goto(url + "/")
    page.get_by_label("Email").fill("ops@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Analytics")).to_be_visible()


def stat(page: Page, key: str):
    return page.locator(f'[data-stat="{key}"] .stat-value')


def check_dashboard_matches(page: Page, analytics: dict) -> None:
    s = analytics["summary"]
    expect(stat(page, "started")).to_have_text(f"{s['started']:,}")
    expect(stat(page, "active")).to_have_text(f"{s['active']:,}")
    expect(stat(page, "completed")).to_have_text(f"{s['completed']:,}")
    expect(stat(page, "exited")).to_have_text(f"{s['exited']:,}")
    expect(stat(page, "goal")).to_have_text(f"{s['conversion_rate'] * 100:.1f}%")
    for n in analytics["nodes"]:
        row = page.locator(f'table[aria-label="Nodes"] tr[data-node="{n["node_id"]}"]')
        for col in ("entered", "passed", "waiting", "completed", "exited", "failed"):
            expect(row.locator(f'[data-col="{col}"]')).to_have_text(f"{n[col]:,}")
    channel_of = {"reminder": "email", "nudge": "sms"}
    for channel in ("email", "sms"):
        expected = {
            m: sum(
                n["messages"][m]
                for n in analytics["nodes"]
                if channel_of.get(n["node_id"]) == channel
            )
            for m in METRICS
        }
        row = page.locator(f'table[aria-label="Channels"] tr[data-channel="{channel}"]')
        for metric, value in expected.items():
            expect(row.locator(f'[data-col="{metric}"]')).to_have_text(f"{value:,}")


def test_dashboard_shows_the_api_numbers_and_exports(
    live_server_url, ran_journey, browser_page: Page, tmp_path, docs_screenshot
):
    page, api, journey = browser_page, ran_journey["api"], ran_journey["journey"]
    analytics = api.get(f"/journeys/{journey['id']}/analytics").json()
    summary = analytics["summary"]
    # The run is what the dashboard has to show: everybody finished, the buyers converted.
    assert summary["started"] == CUSTOMERS and summary["goal_conversions"] >= 1
    assert summary["holdout"] is not None

    sign_in(page, live_server_url)
    page.get_by_role("link", name="Analytics").click()
    row = page.locator(f'tr[data-journey="{journey["id"]}"]')
    expect(row).to_contain_text("Abandoned cart")
    expect(row.locator("td").nth(2)).to_have_text(str(CUSTOMERS))
    row.get_by_role("link", name="Abandoned cart").click()
    expect(page.get_by_role("heading", name="Abandoned cart")).to_be_visible()

    check_dashboard_matches(page, analytics)
    holdout = summary["holdout"]
    treatment_row = page.locator('tr[data-group="Treatment"]')
    expect(treatment_row.locator("td").nth(1)).to_have_text(f"{holdout['treatment']['started']:,}")
    expect(page.locator('tr[data-group="Holdout"] td').nth(1)).to_have_text(
        f"{holdout['holdout']['started']:,}"
    )
    uplift = (
        "—"
        if holdout["uplift"] is None
        else f"{'+' if holdout['uplift']['absolute'] >= 0 else ''}{holdout['uplift']['absolute'] * 100:.1f} pts"
    )
    expect(page.locator('[data-stat="uplift"] strong')).to_have_text(uplift)
    # The email receipts posted above show in the per-channel row.
    email_row = page.locator('table[aria-label="Channels"] tr[data-channel="email"]')
    expect(email_row.locator('[data-col="delivered"]')).to_have_text("8")
    expect(email_row.locator('[data-col="clicked"]')).to_have_text("2")
    # The app scrolls inside its main pane: a tall viewport puts the whole dashboard in the shot.
    page.set_viewport_size({"width": 1440, "height": 2300})
    docs_screenshot(page, "analytics-dashboard.png")
    page.set_viewport_size({"width": 1440, "height": 900})

    # "Last 7 days" (the run happened today): the URL carries the range, the numbers follow it.
    page.get_by_role("button", name="Last 7 days").click()
    expect(page).to_have_url(re.compile(r"from=\d{4}-\d{2}-\d{2}&to=\d{4}-\d{2}-\d{2}"))
    query = dict(part.split("=") for part in page.url.split("?", 1)[1].split("&"))
    ranged = api.get(
        f"/journeys/{journey['id']}/analytics", params={"from": query["from"], "to": query["to"]}
    ).json()
    check_dashboard_matches(page, ranged)
    expect(page.get_by_role("button", name="Last 7 days")).to_have_attribute("aria-pressed", "true")
    # "Last week" (the previous Monday to Sunday in the workspace's zone): the API's numbers too.
    page.get_by_role("button", name="Last week").click()
    expect(page.get_by_role("button", name="Last week")).to_have_attribute("aria-pressed", "true")
    query = dict(part.split("=") for part in page.url.split("?", 1)[1].split("&"))
    check_dashboard_matches(
        page,
        api.get(
            f"/journeys/{journey['id']}/analytics",
            params={"from": query["from"], "to": query["to"]},
        ).json(),
    )
    # A range before the run: nobody started.
    page.get_by_label("From").fill("2020-01-01")
    page.get_by_label("To").fill("2020-01-31")
    expect(stat(page, "started")).to_have_text("0")
    expect(page.get_by_text("Nobody entered in this range")).to_be_visible()
    page.get_by_role("button", name="All time").click()
    expect(stat(page, "started")).to_have_text(str(CUSTOMERS))

    # Version filter: version 1 is the only one, same numbers.
    page.get_by_label("Version").select_option("1")
    expect(page).to_have_url(re.compile(r"version=1"))
    check_dashboard_matches(
        page, api.get(f"/journeys/{journey['id']}/analytics", params={"version": 1}).json()
    )

    # CSV export: the file the browser downloads is the API's CSV.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    saved = tmp_path / "export.csv"
    download.save_as(saved)
    expected_csv = api.get(f"/journeys/{journey['id']}/analytics.csv", params={"version": 1}).text
    assert saved.read_text(encoding="utf-8-sig").replace("\r\n", "\n") == expected_csv.lstrip(
        "\ufeff"
    ).replace("\r\n", "\n")
    assert "reminder" in expected_csv

    # Save a chart as PNG.
    with page.expect_download() as png_info:
        page.get_by_role("region", name="Funnel by node").get_by_role(
            "button", name="Save as PNG"
        ).click()
    png = tmp_path / "funnel.png"
    png_info.value.save_as(png)
    assert png_info.value.suggested_filename == f"journey-{journey['id']}-funnel.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 2000


def test_customer_page_shows_events_journey_timeline_and_messages(
    live_server_url, ran_journey, browser_page: Page, docs_screenshot
):
    page, api, journey = browser_page, ran_journey["api"], ran_journey["journey"]
    # A customer who got both messages (did not buy, not held out).
    who = next(
        e["customer_id"]
        for e in api.get(f"/journeys/{journey['id']}/enrollments", params={"limit": 100}).json()[
            "results"
        ]
        if not e["holdout"] and int(e["customer_id"].split("-")[1]) >= BUYERS
    )
    # Browsing after the journey: events that trigger nothing, newest first on the page.
    views = [
        {"customer_id": who, "name": "page_view", "properties": {"path": f"/product/{i}"}}
        for i in range(2)
    ]
    assert api.post("/events", json={"events": views}).status_code == 202
    events = wait_until(
        lambda: (r := api.get(f"/customers/{who}/events").json()["results"]) and len(r) == 3 and r
    )
    detail = api.get(f"/journeys/{journey['id']}/enrollments/{who}").json()
    passes = api.get(f"/customers/{who}/enrollments").json()["results"]
    assert [p["journey_id"] for p in passes] == [journey["id"]]
    messages = api.get("/messages", params={"customer_id": who}).json()["results"]
    assert len(messages) == 2

    sign_in(page, live_server_url)
    page.get_by_role("link", name="Audiences").click()
    page.get_by_label("Search customers").fill(who)
    # The search is debounced: wait for the filtered table before clicking into it.
    expect(page.get_by_role("table", name="Customers").locator("tbody tr")).to_have_count(1)
    page.get_by_role("link", name=who, exact=True).click()
    expect(page.get_by_role("heading", name=f"Pat{int(who.split('-')[1])} ({who})")).to_be_visible()
    profile = page.get_by_role("region", name="Profile")
    expect(profile).to_contain_text(f"cust{int(who.split('-')[1])}@example.com")
    expect(page.get_by_role("region", name="Attributes")).to_contain_text("first_name")

    # Journeys: one call lists the pass; its timeline (the latest pass) is open and complete.
    section = page.get_by_role("region", name="Journeys")
    row = section.locator(f'[data-enrollment="{passes[0]["id"]}"]')
    expect(row).to_contain_text(passes[0]["state"])
    expect(row).to_contain_text(passes[0]["node_name"])
    timeline = page.get_by_role("list", name="Timeline of Abandoned cart")
    expect(timeline.locator("li")).to_have_count(len(detail["history"]))
    expect(timeline).to_contain_text("Reminder email")
    expect(timeline).to_contain_text("SMS nudge")
    # The toggle is a real button: the keyboard closes and reopens the timeline.
    toggle = row.get_by_role("button", name="Hide timeline")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(timeline).to_have_count(0)
    page.keyboard.press("Enter")
    expect(timeline.locator("li")).to_have_count(len(detail["history"]))

    # Events: the API's, newest first; the name filter narrows them.
    table = page.get_by_role("table", name="Customer events")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(len(events))
    for i, event in enumerate(events):
        expect(rows.nth(i)).to_have_attribute("data-event", str(event["id"]))
        expect(rows.nth(i).locator("td").nth(1)).to_have_text(event["name"])
    expect(rows.nth(0)).to_contain_text("path: /product/")
    page.get_by_label("Event name").fill("cart_abandoned")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.nth(0).locator("td").nth(1)).to_have_text("cart_abandoned")

    rows = page.get_by_role("region", name="Messages").locator("tbody tr")
    expect(rows).to_have_count(2)
    for m in messages:
        row = page.locator(f'tr[data-message="{m["id"]}"]')
        expect(row).to_contain_text(m["channel"])
        expect(row).to_contain_text(m["status"])
    page.get_by_role("button", name="Clear").click()
    expect(table.locator("tbody tr")).to_have_count(len(events))
    page.set_viewport_size({"width": 1440, "height": 1450})
    docs_screenshot(page, "audiences-customer-page.png")
