"""The walk: a new marketer builds the seeds' abandoned-cart journey by hand in Chromium at
1440×900 and runs it on the whole product (web, Celery worker, beat, timers). Sign in; drag the
trigger, a 30-minute wait, a "Purchased?" branch, WhatsApp, email, SMS, a CRM webhook and two
exits from the palette; connect them handle to handle; type each step's content with
personalization; set the entry event, an exit condition and a goal on the trigger; validate
(the channels are missing); set up WhatsApp Cloud, SMTP and Twilio in Channels, each pointed at a
local server speaking its wire format; start; a developer sends the shop's events through the
API; the counts move live on the canvas; the dashboard tells the story. Screenshots land in
docs/walk-*.png (docs/walk.md) when WAYMARK_SCREENSHOTS=1.

Nodes are found by the names the marketer gives them, never by position: another layout or
placement rule must not break the walk. The one thing the test does that no user does: half an
hour passes for the customers in the wait (their wake-up is moved to now, as the clock reaching
it would), since a test cannot wait 30 minutes."""

from __future__ import annotations

import re

import httpx
import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from journeys.models import Enrollment
from journeys.timers import timers_update
from tests.channels.conftest import http_server, smtp_server  # noqa: F401  (local providers)
from tests.conftest import wait_for
from workspaces.models import User
from workspaces.services import api_key_create, workspace_create

from .test_canvas import PASSWORD, drop, name_box, send_events, sign_in

pytestmark = pytest.mark.e2e

WA_PATH = "/v21.0/PN-ACME/messages"
TWILIO_PATH = "/2010-04-01/Accounts/AC-ACME/Messages.json"
CRM_PATH = "/crm/contacts"


@pytest.fixture
def shop(live_server_url):
    """Acme Shop: a marketer with no channels yet, three customers (Cy has no phone) and the API
    client the shop's developer sends events with (an unknown customer is created by them)."""
    user = User.objects.create_user("marketer@example.com", PASSWORD)
    workspace = workspace_create(name="Acme Shop", owner=user)
    _, key = api_key_create(workspace=workspace, name="shop backend")
    api = httpx.Client(
        base_url=f"{live_server_url}/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=15
    )
    customers = [
        {"external_id": "ada", "email": "ada@example.com", "phone": "+351910000001",
         "attributes": {"first_name": "Ada"}},
        {"external_id": "bob", "email": "bob@example.com", "phone": "+351910000002",
         "attributes": {"first_name": "Bob"}},
        {"external_id": "cy", "email": "cy@example.com", "attributes": {"first_name": "Cy"}},
    ]
    assert api.post("/customers", json={"customers": customers}).status_code == 200
    yield api
    api.close()


def step(page: Page, name: str):
    """A node on the canvas, by the name the marketer gave it."""
    title = page.locator(".node-name").filter(has_text=re.compile(f"^{re.escape(name)}$"))
    return page.locator(".react-flow__node").filter(has=title)


# Where each step is dropped: three columns, rows 200 px apart (a step is ~100–140 px tall), clear
# of the toolbar, the zoom controls and the minimap. Column 3 lies under the settings panel, so the
# panel of the previous step is closed before each drop.
COLUMNS, ROWS = (150, 450, 750), (100, 300, 500, 700)


def add(page: Page, palette_key: str, name: str, column: int, row: int):
    """Drags a palette item onto the canvas and names it in the panel that opens."""
    panel = page.get_by_test_id("node-panel")
    if panel.count():
        panel.get_by_role("button", name="Close panel").click()
        expect(panel).to_have_count(0)
    drop(page, palette_key, COLUMNS[column], ROWS[row])
    name_box(panel).fill(name)
    expect(step(page, name)).to_be_visible()
    return step(page, name)


def link(page: Page, source: str, handle: str, target: str) -> None:
    """Drags from an output handle to another step's input with the mouse, as a user does."""
    start = step(page, source).locator(f'.react-flow__handle.source[data-handleid="{handle}"]')
    end = step(page, target).locator(".react-flow__handle.target")
    a, b = start.bounding_box(), end.bounding_box()
    assert a and b
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=8)
    page.mouse.up()


def fit_view(page: Page) -> None:
    """React Flow's own "fit view" control: every step in view."""
    page.locator(".react-flow__controls-fitview").click()


def count(page: Page, name: str, label: str):
    return step(page, name).locator(f'[data-count="{label}"] b')


def personalize(panel, label: str, text: str) -> None:
    """Types `text` into the panel's first personalizable field, then picks the customer's first
    name from its {…} menu."""
    panel.get_by_label(label, exact=True).fill(text)
    panel.get_by_role("button", name="Insert customer attribute").first.click()
    panel.get_by_role("menuitem", name="customer.first_name").click()
    expect(panel.get_by_label(label, exact=True)).to_have_value(text + "{{ customer.first_name }}")
    # The menu puts the caret back after the name on the next frame: typing elsewhere waits for it.
    expect(panel.get_by_label(label, exact=True)).to_be_focused()


def half_an_hour_passes(api: httpx.Client, journey_id: int, wait_name: str) -> None:
    """The wait ends now for everyone in it (see the module's docstring)."""
    graph = api.get(f"/journeys/{journey_id}").json()["graph"]
    wait = next(n["id"] for n in graph["nodes"] if n["name"] == wait_name)
    now = timezone.now()
    waiting = Enrollment.objects.unscoped().filter(journey_id=journey_id, state="waiting", node_id=wait)
    ids = list(waiting.values_list("id", flat=True))
    assert ids, "nobody is in the wait"
    waiting.update(wake_at=now)
    timers_update(add=dict.fromkeys(ids, now))


def add_channel(page: Page, channel: str, provider: str, name: str, fields: dict[str, str]) -> None:
    page.get_by_role("button", name="+ Add channel").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Channel", exact=True).select_option(label=channel)
    dialog.get_by_label("Provider").select_option(label=provider)
    dialog.get_by_label("Name", exact=True).fill(name)
    for label, value in fields.items():
        dialog.get_by_label(label, exact=True).fill(value)
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_text(f"Saved “{name}”.")).to_be_visible()
    expect(page.get_by_role("region", name=channel)).to_contain_text(name)


def test_a_marketer_builds_runs_and_reads_the_abandoned_cart_journey(
    live_server_url, shop, http_server, smtp_server, browser_page: Page, docs_screenshot  # noqa: F811
):
    http_server.route("POST", WA_PATH, 200, {"messages": [{"id": "wamid.1"}]})
    http_server.route("POST", TWILIO_PATH, 201, {"sid": "SM1", "status": "queued"})
    http_server.route("POST", CRM_PATH, 200, {"ok": True})
    page = browser_page
    sign_in(page, live_server_url)
    page.get_by_role("button", name="Create your first journey").click()
    page.get_by_label("Name").fill("Abandoned cart")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page).to_have_url(re.compile(r"/journeys/\d+$"))
    journey_id = int(page.url.rsplit("/", 1)[1])
    panel = page.get_by_test_id("node-panel")

    # Every step from the palette onto a grid (COLUMNS, ROWS), named as it lands.
    trigger = add(page, "start", "Cart abandoned", 0, 0)
    panel.get_by_label("Customers enter").select_option(label="When the customer does an event")
    panel.get_by_role("combobox", name="Trigger event").fill("cart_abandoned")
    expect(trigger).to_contain_text("cart_abandoned")

    add(page, "wait", "Wait 30 minutes", 0, 1)
    panel.get_by_label("Duration amount").fill("30")
    panel.get_by_label("Duration unit").select_option("minutes")
    expect(step(page, "Wait 30 minutes")).to_contain_text("Wait 30 minutes")

    add(page, "event_branch", "Purchased?", 0, 2)
    panel.get_by_label("Event name *").fill("purchase")
    panel.get_by_label("Name of output “Yes”").fill("Bought")
    # The other output is renamed on the canvas itself: double-click its label, type, Enter.
    step(page, "Purchased?").locator('[data-handle-label$=":no"]').dblclick()
    renaming = step(page, "Purchased?").get_by_role("textbox", name="Name of output No")
    renaming.fill("Not yet")
    renaming.press("Enter")
    expect(step(page, "Purchased?").locator(".handle-label")).to_have_text(["Bought", "Not yet"])

    add(page, "exit", "Converted", 0, 3)

    add(page, "whatsapp", "WhatsApp nudge", 1, 0)
    personalize(panel, "Text", "Your {{ event.item_name }} is still in your cart, ")
    expect(panel.get_by_test_id("preview")).to_contain_text("is still in your cart, Alex")

    add(page, "email", "Reminder email", 1, 1)
    personalize(panel, "Subject", "You left something behind, ")
    panel.get_by_label("HTML body").fill(
        "<p>Hi {{ customer.first_name }}, your {{ event.item_name }} is waiting.</p>"
        "<p><a href='https://acme.test/cart'>Complete your order</a></p>"
    )
    expect(panel.get_by_test_id("preview")).to_contain_text("You left something behind, Alex")

    add(page, "sms", "SMS follow-up", 1, 2)
    personalize(panel, "Text", "Acme: still thinking it over, ")

    add(page, "webhook", "Tell the CRM", 2, 0)
    panel.get_by_label("URL").fill(f"{http_server.url}{CRM_PATH}")
    panel.get_by_label("Body").fill('{"email": "{{ customer.email }}", "stage": "cart_abandoned"}')

    add(page, "exit", "Done", 2, 1)
    # A drop under the settings panel may pan the canvas: every step in view before connecting.
    panel.get_by_role("button", name="Close panel").click()
    fit_view(page)

    drawn = (
        ("Cart abandoned", "next", "Wait 30 minutes"),
        ("Wait 30 minutes", "next", "Purchased?"),
        ("Purchased?", "yes", "Converted"),
        ("Purchased?", "no", "WhatsApp nudge"),
        ("WhatsApp nudge", "next", "Reminder email"),
        ("Reminder email", "next", "SMS follow-up"),
        ("SMS follow-up", "next", "Tell the CRM"),
        ("Tell the CRM", "next", "Done"),
    )
    for source, handle, target in drawn:
        link(page, source, handle, target)
    expect(page.locator(".react-flow__edge")).to_have_count(8)

    # From the trigger: carts worth 20 or more only, the goal (a purchase) and the exit rule.
    trigger.click()
    panel.get_by_role("button", name="Filters, audience, exit rules and goals").click()
    drawer = page.get_by_test_id("settings-drawer")
    # (a button inside a field's <label> takes the label's name, so it is found by its text)
    drawer.locator("button", has_text="+ Add property filter").click()
    drawer.get_by_label("property name").fill("cart_value")
    drawer.get_by_label("operator").select_option("gte")
    drawer.get_by_label("value", exact=True).fill("20")
    drawer.get_by_role("button", name="+ Add goal").click()
    goal = drawer.locator(".group-card").filter(has=page.get_by_label("Goal name"))
    goal.get_by_label("Goal name").fill("Purchased")
    goal.get_by_label("event name").fill("purchase")
    drawer.get_by_role("button", name="+ Add exit condition").click()
    drawer.locator(".group-card").filter(has_text="Exit condition 1").get_by_label("event name").fill(
        "unsubscribed"
    )
    drawer.get_by_role("button", name="Close settings").click()

    page.get_by_role("button", name="Auto arrange").click()
    expect(page.get_by_test_id("save-state")).to_have_text("All changes saved", timeout=10_000)
    docs_screenshot(page, "walk-01-canvas.png")

    # Validate: the journey is whole, but no channel is set up to send through.
    page.get_by_role("button", name="Validate").click()
    problems = page.get_by_test_id("problems")
    expect(problems).to_contain_text("No WhatsApp channel set up")
    expect(problems).to_contain_text("No Email channel set up")
    expect(problems).to_contain_text("No SMS channel set up")
    problems.get_by_test_id("problem-link").filter(has_text="SMS follow-up").first.click()
    expect(panel.get_by_test_id("no-channel")).to_contain_text("No SMS channel set up")
    panel.get_by_role("link", name="Set one up in Channels").click()
    expect(page.get_by_role("heading", name="Channels", exact=True)).to_be_visible()

    add_channel(page, "WhatsApp", "WhatsApp Cloud API", "Acme WhatsApp", {
        "Phone number id": "PN-ACME", "Access token": "EAAG-acme",
        "API base URL (optional override)": http_server.url,
    })
    add_channel(page, "Email", "SMTP", "Acme mail", {
        "Host": "127.0.0.1", "Port": str(smtp_server.port), "From address": "Acme <shop@acme.test>",
    })
    add_channel(page, "SMS", "Twilio", "Acme SMS", {
        "Account SID": "AC-ACME", "Auth token": "twilio-token", "From number": "+14155550100",
        "API base URL (optional override)": http_server.url,
    })
    docs_screenshot(page, "walk-02-channels.png")

    page.goto(f"{live_server_url}/journeys/{journey_id}")
    page.get_by_role("button", name="Validate").click()
    expect(page.get_by_text("The journey is valid and ready to start.")).to_be_visible()
    # Start asks first: nothing starts on Cancel.
    page.get_by_role("button", name="Start", exact=True).click()
    page.get_by_role("dialog", name="Start this journey?").get_by_role("button", name="Cancel").click()
    expect(page.locator(".editor-bar .badge")).to_have_text("draft")
    page.get_by_role("button", name="Start", exact=True).click()
    page.get_by_role("button", name="Start journey").click()
    expect(page.locator(".editor-bar .badge")).to_have_text("active")

    # What was saved is what was drawn.
    live = shop.get(f"/journeys/{journey_id}").json()
    names = {n["id"]: n["name"] for n in live["graph"]["nodes"]}
    assert {(names[e["source"]], e["source_handle"], names[e["target"]]) for e in live["graph"]["edges"]} == set(drawn)
    assert live["settings"]["entry"] == {"type": "event", "events": [
        {"name": "cart_abandoned", "where": [{"property": "cart_value", "op": "gte", "value": 20}]}]}
    assert [(g["name"], g["condition"]) for g in live["settings"]["goals"]] == [
        ("Purchased", {"event": "purchase", "within": "since_entry"})]
    assert live["settings"]["exit_conditions"] == [{"all": [{"event": "unsubscribed"}]}]

    # The shop's developer sends the events: four carts left behind, Dan's too small to count.
    carts = {"ada": ("Blue mug", 42), "bob": ("Tea set", 80), "cy": ("Teapot", 25), "dan": ("Spoon", 5)}
    send_events(shop, *({"customer_id": c, "name": "cart_abandoned",
                         "properties": {"item_name": item, "cart_value": value}}
                        for c, (item, value) in carts.items()))
    expect(count(page, "Cart abandoned", "entered")).to_have_text("3", timeout=30_000)
    expect(count(page, "Wait 30 minutes", "waiting")).to_have_text("3", timeout=30_000)
    expect(page.locator(".live-dot")).to_have_text("Live")

    # Bob buys while he waits; then half an hour passes.
    send_events(shop, {"customer_id": "bob", "name": "purchase", "properties": {"amount": 35}})
    wait_for(lambda: shop.get(f"/journeys/{journey_id}/enrollments/bob").json()["goals"], timeout=30)
    half_an_hour_passes(shop, journey_id, "Wait 30 minutes")

    # Bob leaves as converted; Ada and Cy get the nudges. Cy has no phone: WhatsApp and SMS fail
    # for her (counted on their steps) and she still gets the email and reaches the CRM.
    expect(count(page, "Converted", "entered")).to_have_text("1", timeout=60_000)
    expect(count(page, "Done", "entered")).to_have_text("2", timeout=60_000)
    expect(count(page, "WhatsApp nudge", "sent")).to_have_text("1")
    expect(count(page, "WhatsApp nudge", "failed")).to_have_text("1")
    expect(count(page, "Reminder email", "sent")).to_have_text("2")
    expect(count(page, "SMS follow-up", "sent")).to_have_text("1")
    expect(count(page, "SMS follow-up", "failed")).to_have_text("1")
    expect(count(page, "Tell the CRM", "entered")).to_have_text("2")
    fit_view(page)  # the counts made the steps taller
    docs_screenshot(page, "walk-03-live-counts.png")

    # What the providers and the CRM received, in their own formats.
    wa = [r.json() for r in http_server.requests if r.path == WA_PATH]
    assert wa == [{"messaging_product": "whatsapp", "recipient_type": "individual", "to": "351910000001",
                   "type": "text", "text": {"body": "Your Blue mug is still in your cart, Ada"}}]
    sms = [r.form() for r in http_server.requests if r.path == TWILIO_PATH]
    assert [(f["To"], f["Body"]) for f in sms] == [("+351910000001", "Acme: still thinking it over, Ada")]
    assert shop.get(f"/journeys/{journey_id}/enrollments/dan").status_code == 404
    crm = sorted((r.json()["email"], r.json()["stage"]) for r in http_server.requests if r.path == CRM_PATH)
    assert crm == [("ada@example.com", "cart_abandoned"), ("cy@example.com", "cart_abandoned")]
    mail = wait_for(lambda: len(smtp_server.envelopes) == 2 and smtp_server.envelopes)
    assert sorted(e.rcpt_tos[0] for e in mail) == ["ada@example.com", "cy@example.com"]
    assert any(b"You left something behind, Ada" in e.content for e in mail)

    # The journeys list: active, three started, one in three converted.
    page.get_by_role("link", name="Back to journeys").click()
    row = page.get_by_role("row", name="Abandoned cart")
    expect(row).to_contain_text("active")
    expect(row).to_contain_text("33.3%")

    # The dashboard, from Analytics: three started, all finished, one converted.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Analytics").click()
    page.get_by_role("link", name="Abandoned cart").click()
    summary = page.get_by_role("region", name="Summary")
    expect(summary.locator('[data-stat="started"] .stat-value')).to_have_text("3", timeout=60_000)
    expect(summary.locator('[data-stat="active"] .stat-value')).to_have_text("0")
    expect(summary.locator('[data-stat="goal"]')).to_contain_text("1 converted")
    nodes = page.get_by_role("table", name="Nodes")
    whatsapp = nodes.locator("tr").filter(has_text="WhatsApp nudge")
    expect(whatsapp.locator('[data-col="entered"]')).to_have_text("2")
    expect(whatsapp.locator('[data-col="failed"]')).to_have_text("1")
    branch = nodes.locator("tr").filter(has_text="Purchased?")
    expect(branch).to_contain_text("Bought 1")
    expect(branch).to_contain_text("Not yet 2")
    # The app scrolls inside its main pane: a taller window puts the node table in the picture.
    page.set_viewport_size({"width": 1440, "height": 1500})
    docs_screenshot(page, "walk-04-dashboard.png")
