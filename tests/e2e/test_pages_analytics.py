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

from analytics.services import rollups_refresh
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
    "goals": [
        {
            "id": "purchased",
            "name": "Purchased",
            "condition": {"event": "purchase"},
            "value": {"property": "amount"},
        }
    ],
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


def _acme_shop(live_server_url, sandbox_channels):
    """The ops person's workspace, an API client for it and sandboxed channels."""
    user = User.objects.create_user("ops@example.com", PASSWORD)
    workspace = workspace_create(name="Acme Shop", owner=user)
    _, key = api_key_create(workspace=workspace, name="e2e backend")
    api = httpx.Client(
        base_url=f"{live_server_url}/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    sandbox_channels(api, from_email="shop@acme.test")
    return workspace, api


@pytest.fixture
def ran_journey(live_server_url, sandbox_channels):
    """An abandoned-cart journey that has run for CUSTOMERS customers, with receipts posted."""
    workspace, api = _acme_shop(live_server_url, sandbox_channels)
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
            if (
                api.get(f"/journeys/{journey['id']}/enrollments/{who}").json().get("node_id")
                == "buy"
            ):
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

    def receipts_counted():
        # The fold beat runs every 2 s, here too: in a long suite the worker may still be working
        # off earlier tests' queued tasks, and beat's runs expire in its queue meanwhile (2 s).
        rollups_refresh()
        return _email_delivered(api, journey["id"]) == 8

    wait_until(receipts_counted, timeout=60)
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
    assert s["counts"] == "runs"
    expect(page.get_by_test_id("counts-note")).to_have_text(
        "Counts runs, not customers: a customer who enters again counts once per run."
    )
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
    # Revenue: the buyers' purchase amounts, in the summary row and on the goal's row.
    assert summary["revenue"] == 80 * summary["goals"]["purchased"]["conversions"] > 0
    expect(stat(page, "revenue")).to_have_text(f"{summary['revenue']:,.2f}")
    goal_row = page.locator('table[aria-label="Goals"] tr[data-goal="purchased"]')
    expect(goal_row.locator("td").nth(0)).to_have_text("Purchased")
    expect(goal_row.locator('[data-col="conversions"]')).to_have_text(
        str(summary["goals"]["purchased"]["conversions"])
    )
    expect(goal_row.locator('[data-col="revenue"]')).to_have_text(
        f"{summary['goals']['purchased']['revenue']:,.2f}"
    )
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


def _points(diff: float) -> str:
    return f"{'+' if diff >= 0 else ''}{diff * 100:.1f} pts"


OFFER_TEST = {
    "nodes": [
        _node("start", "start", "Signed up"),
        _node(
            "offer",
            "split",
            "Offer test",
            {
                "paths": [
                    {"id": "discount", "name": "10% off", "percent": 50},
                    {"id": "shipping", "name": "Free shipping", "percent": 50},
                ],
                "experiment": {
                    "goal_id": "purchased",
                    "decide_after": {"value": 30, "unit": "days"},
                },
            },
        ),
        _node(
            "welcome",
            "message",
            "Welcome email",
            {
                "channel": "email",
                "variants": [
                    {
                        "id": "short",
                        "name": "Short",
                        "percent": 50,
                        "content": {"subject": "Hi", "html": "<p>Welcome.</p>"},
                    },
                    {
                        "id": "long",
                        "name": "Long",
                        "percent": 50,
                        "content": {
                            "subject": "Welcome aboard",
                            "html": "<p>Here is all we do.</p>",
                        },
                    },
                ],
                "experiment": {"goal_id": "clicked", "decide_after": {"value": 30, "unit": "days"}},
            },
        ),
        _node("end", "exit", "Exit"),
    ],
    "edges": [
        _edge("start", "next", "offer"),
        _edge("offer", "discount", "welcome"),
        _edge("offer", "shipping", "welcome"),
        _edge("welcome", "next", "end"),
        _edge("welcome", "failed", "end"),
    ],
}


@pytest.fixture
def experiment_journey(live_server_url, sandbox_channels):
    """A split test and a two-variant email run for 20 customers (half held out); 6 buy after."""
    _, api = _acme_shop(live_server_url, sandbox_channels)
    people = [{"external_id": f"cust-{i:02d}", "email": f"cust{i}@example.com"} for i in range(20)]
    assert api.post("/customers", json={"customers": people}).status_code == 200
    settings = {
        **SETTINGS,
        "entry": {"type": "event", "events": [{"name": "signed_up"}]},
        "holdout": {"percent": 50},
    }
    journey = api.post(
        "/journeys", json={"name": "Welcome offer", "graph": OFFER_TEST, "settings": settings}
    ).json()
    assert "id" in journey, journey
    assert api.put(f"/journeys/{journey['id']}/start", json={}).status_code == 200
    events = [{"customer_id": p["external_id"], "name": "signed_up"} for p in people]
    assert api.post("/events", json={"events": events}).status_code == 202

    def finished():
        s = api.get(f"/journeys/{journey['id']}/analytics").json()["summary"]
        return s["started"] == 20 and s["active"] == 0

    wait_until(finished, timeout=90)
    # Goals convert after the journey ended too (within their window): six buy, 25 each.
    buys = [
        {"customer_id": f"cust-{i:02d}", "name": "purchase", "properties": {"amount": 25}}
        for i in range(6)
    ]
    assert api.post("/events", json={"events": buys}).status_code == 202
    wait_until(
        lambda: (
            api.get(f"/journeys/{journey['id']}/analytics").json()["summary"]["goal_conversions"]
            == 6
        ),
        timeout=60,
    )
    decided = api.put(f"/journeys/{journey['id']}/nodes/offer/winner", json={"path_id": "shipping"})
    assert decided.status_code == 200, decided.text
    yield {"api": api, "journey": journey}
    api.close()


def test_dashboard_shows_revenue_uplift_experiments_and_a_step_funnel(
    live_server_url, experiment_journey, browser_page: Page
):
    page, api, journey = browser_page, experiment_journey["api"], experiment_journey["journey"]
    analytics = api.get(f"/journeys/{journey['id']}/analytics").json()
    summary = analytics["summary"]
    assert summary["revenue"] == 150
    uplift = summary["holdout"]["uplift"]
    assert uplift is not None  # both groups have customers at 50 % of 20
    nodes = {n["node_id"]: n for n in analytics["nodes"]}

    sign_in(page, live_server_url)
    page.goto(f"{live_server_url}/analytics/journeys/{journey['id']}")
    expect(page.get_by_role("heading", name="Welcome offer")).to_be_visible()

    # Revenue in the summary row and per goal.
    expect(stat(page, "revenue")).to_have_text("150.00")
    goal_row = page.locator('table[aria-label="Goals"] tr[data-goal="purchased"]')
    expect(goal_row.locator('[data-col="conversions"]')).to_have_text("6")
    expect(goal_row.locator('[data-col="rate"]')).to_have_text(
        f"{summary['goals']['purchased']['rate'] * 100:.1f}%"
    )
    expect(goal_row.locator('[data-col="revenue"]')).to_have_text("150.00")

    # The uplift: a bar from zero, whiskers over the 95 % interval, the verdict in words.
    chart = page.get_by_role("figure", name="Uplift")
    lo, hi = uplift["ci95"]
    expect(chart.locator('[data-part="interval"]')).to_have_text(
        f"95% interval {_points(lo)} to {_points(hi)}"
    )
    likely = uplift["p_value"] is not None and uplift["p_value"] < 0.05
    verdict = "Likely real" if likely else "Not yet conclusive"
    expect(chart.locator('[data-part="verdict"]')).to_have_text(verdict)
    expect(chart.locator('[data-part="bar"]')).to_be_visible()
    whiskers = chart.locator('[data-part="whiskers"] line').first
    box = whiskers.bounding_box()
    assert box is not None and box["width"] > 0  # the interval is drawn, not just written

    # The split's paths: the winner picked by hand is marked, the experiment says so.
    split = page.locator('[data-experiment="offer"]')
    expect(split.locator('[data-part="status"]')).to_contain_text("Decided by hand")
    expect(split.locator('tr[data-arm="shipping"]')).to_contain_text("Winner")
    expect(split.locator('tr[data-arm="discount"]')).not_to_contain_text("Winner")
    for path in nodes["offer"]["paths"]:
        row = split.locator(f'tr[data-arm="{path["id"]}"]')
        expect(row.locator('[data-col="entered"]')).to_have_text(str(path["entered"]))
    # The email's variants: still running, no winner.
    variants = page.get_by_role("table", name="Variants of Welcome email")
    expect(page.locator('[data-experiment="welcome"] [data-part="status"]')).to_have_text("Running")
    expect(variants.locator("tbody tr")).to_have_count(2)
    expect(variants).not_to_contain_text("Winner")

    # The step funnel: pick three nodes by name, read the API's counts as bars.
    for name in ("Signed up", "Offer test", "Welcome email"):
        page.get_by_label("Funnel step", exact=True).select_option(label=name)
        page.get_by_role("button", name="Add step").click()
    funnel = api.get(
        f"/journeys/{journey['id']}/analytics/funnel", params={"steps": "start,offer,welcome"}
    ).json()["steps"]
    steps = page.get_by_role("list", name="Funnel steps")
    expect(steps.locator("li")).to_have_count(3)
    first = funnel[0]["reached"]
    for step in funnel:
        item = steps.locator(f'li[data-step="{step["node_id"]}"]')
        expect(item.locator('[data-col="reached"]')).to_have_text(str(step["reached"]))
        width = item.locator('[data-part="bar"]').evaluate("e => parseFloat(e.style.width)")
        assert width == pytest.approx(step["reached"] / first * 100, abs=0.05)
    last = funnel[2]
    expect(steps.locator('li[data-step="welcome"] [data-col="from-previous"]')).to_contain_text(
        f"{last['rate_from_previous'] * 100:.1f}% of the previous step"
    )
