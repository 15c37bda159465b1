"""The canvas end to end: a marketer signs in, builds a journey by dragging steps from the
palette, connects and configures them, arranges, validates and starts it; an event sent through
the API then moves a customer through, and the node counts on the canvas change."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from workspaces.models import User
from workspaces.services import api_key_create, workspace_create

DOCS = Path(__file__).resolve().parents[2] / "docs"
PASSWORD = "e2e-password-123"

pytestmark = pytest.mark.e2e


@pytest.fixture
def account(live_server_url):
    user = User.objects.create_user("marketer@example.com", PASSWORD)
    user.name = "Mara Keter"
    user.save(update_fields=["name"])
    workspace = workspace_create(name="Acme Shop", owner=user)
    _, key = api_key_create(workspace=workspace, name="e2e backend")
    api = httpx.Client(
        base_url=f"{live_server_url}/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=15
    )
    # A sandbox email channel (records, delivers nowhere) and a customer with an address.
    assert (
        api.post(
            "/channels",
            json={
                "channel": "email",
                "provider": "sandbox",
                "name": "Sandbox email",
                "credentials": {},
                "settings": {"from_email": "hi@acme.test"},
            },
        ).status_code
        == 201
    )
    assert (
        api.post(
            "/customers",
            json={
                "customers": [
                    {
                        "external_id": "ada",
                        "email": "ada@example.com",
                        "attributes": {"first_name": "Ada"},
                    }
                ]
            },
        ).status_code
        == 200
    )
    yield api
    api.close()


def drop(page: Page, palette_key: str, x: float, y: float) -> None:
    """Drags a palette item onto the canvas at (x, y) relative to the canvas (HTML5 DnD)."""
    page.locator(f'[data-palette="{palette_key}"]').drag_to(
        page.get_by_test_id("canvas"), target_position={"x": x, "y": y}
    )


def node(page: Page, node_id: str):
    return page.locator(f'.react-flow__node[data-id="{node_id}"]')


def connect(page: Page, source: str, handle: str, target: str) -> None:
    """Drags from a node's output handle to another node's input, with the raw mouse as a user
    would (React Flow draws the connection line from pointer events)."""
    start = (
        node(page, source)
        .locator(f'.react-flow__handle.source[data-handleid="{handle}"]')
        .bounding_box()
    )
    end = node(page, target).locator(".react-flow__handle.target").bounding_box()
    assert start and end
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=8)
    page.mouse.up()


def count(page: Page, node_id: str, label: str):
    return node(page, node_id).locator(f'[data-count="{label}"] b')


def test_build_start_and_watch_a_journey(live_server_url, account, browser_page: Page):
    page = browser_page
    page.goto(live_server_url + "/")

    # Sign in with the session.
    page.get_by_label("Email").fill("marketer@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="No journeys yet")).to_be_visible()

    # Create a blank journey; the app routes to its canvas.
    page.get_by_role("button", name="Create your first journey").click()
    page.get_by_label("Name").fill("Welcome series")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page).to_have_url(re.compile(r"/journeys/\d+$"))
    journey_id = int(page.url.rsplit("/", 1)[1])
    expect(page.get_by_text("Drag a Trigger from the left to begin.")).to_be_visible()

    # Drag a trigger, a wait, an email and an exit from the palette.
    drop(page, "start", 400, 120)
    drop(page, "wait", 400, 300)
    drop(page, "email", 400, 480)
    drop(page, "exit", 400, 660)
    for node_id in ("start_1", "wait_1", "message_1", "exit_1"):
        expect(node(page, node_id)).to_be_visible()
    # Not connected yet: the hints say so on the nodes.
    expect(node(page, "exit_1").get_by_test_id("node-problem")).to_be_visible()

    connect(page, "start_1", "next", "wait_1")
    connect(page, "wait_1", "next", "message_1")
    connect(page, "message_1", "next", "exit_1")
    expect(page.locator(".react-flow__edge")).to_have_count(3)

    # Configure: a 2-second wait, the email's subject with an attribute, the entry event.
    node(page, "wait_1").click()
    panel = page.get_by_test_id("node-panel")
    panel.get_by_label("Duration amount").fill("2")
    panel.get_by_label("Duration unit").select_option("seconds")
    expect(node(page, "wait_1")).to_contain_text("Wait 2 seconds")

    node(page, "message_1").click()
    subject = panel.get_by_label("Subject", exact=True)
    subject.fill("Welcome, ")
    panel.get_by_role("button", name="Insert customer attribute").first.click()
    panel.get_by_role("menuitem", name="customer.first_name").click()
    expect(subject).to_have_value("Welcome, {{ customer.first_name }}")
    panel.get_by_label("HTML body").fill("<p>Hi {{ customer.first_name }}, glad you joined.</p>")
    # The live preview renders with the editable sample attributes (first_name Alex).
    expect(panel.get_by_test_id("preview")).to_contain_text("Welcome, Alex")
    panel.get_by_test_id("preview").scroll_into_view_if_needed()
    page.screenshot(path=str(DOCS / "canvas-settings-panel.png"))

    page.get_by_role("button", name="Journey settings").click()
    drawer = page.get_by_test_id("settings-drawer")
    drawer.get_by_label("Entry type").select_option("event")
    drawer.get_by_label("Entry event 1 name").fill("signed_up")
    expect(node(page, "start_1")).to_contain_text("On event: signed_up")
    drawer.get_by_role("button", name="Close settings").click()

    page.get_by_role("button", name="Auto arrange").click()
    expect(page.get_by_test_id("save-state")).to_have_text("All changes saved", timeout=10_000)

    page.get_by_role("button", name="Validate").click()
    expect(page.get_by_text("The journey is valid and ready to start.")).to_be_visible()

    page.get_by_role("button", name="Start", exact=True).click()
    page.get_by_role("button", name="Start journey").click()
    expect(page.locator(".editor-bar .badge")).to_have_text("active")
    expect(page.get_by_text("v1 live")).to_be_visible()

    # What was saved is what was drawn.
    saved = account.get(f"/journeys/{journey_id}").json()
    assert saved["status"] == "active"
    assert {(e["source"], e["source_handle"], e["target"]) for e in saved["graph"]["edges"]} == {
        ("start_1", "next", "wait_1"),
        ("wait_1", "next", "message_1"),
        ("message_1", "next", "exit_1"),
    }
    assert saved["settings"]["entry"] == {"type": "event", "events": [{"name": "signed_up"}]}

    # A customer signs up (through the API); the canvas counts move without a reload.
    expect(count(page, "start_1", "entered")).to_have_text("0")
    accepted = account.post(
        "/events", json={"events": [{"customer_id": "ada", "name": "signed_up"}]}
    )
    assert accepted.status_code == 202, accepted.text
    expect(count(page, "start_1", "entered")).to_have_text("1", timeout=30_000)
    expect(page.locator(".live-dot")).to_have_text("Live")  # pushed over the websocket
    expect(count(page, "message_1", "sent")).to_have_text("1", timeout=30_000)
    expect(count(page, "exit_1", "entered")).to_have_text("1", timeout=30_000)
    page.get_by_role("button", name="Fit View").click()
    page.screenshot(path=str(DOCS / "canvas-live-counts.png"))

    # The list shows the journey with its numbers.
    page.get_by_role("link", name="Back to journeys").click()
    row = page.get_by_role("row", name="Welcome series")
    expect(row).to_contain_text("active")
    expect(row.locator("td").nth(3)).to_have_text("1")
    page.screenshot(path=str(DOCS / "journeys-list.png"))
