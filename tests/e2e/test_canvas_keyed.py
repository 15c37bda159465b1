"""Journeys that model real life, in the browser: a keyed journey's key property set in the
journey settings (the entry event's recent properties offered), a wait until a date read from
the profile with its plain-language summary on the node, and tags on the journeys list (filter by
one, edit them, a bad one refused with the API's reason); the customer page links both runs of a
hand-off."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_canvas import account, name_box, node, sign_in  # noqa: F401

pytestmark = pytest.mark.e2e


def created(api, name: str, nodes: list[dict], edges: list[dict], settings: dict, tags=()) -> int:
    answer = api.post(
        "/journeys",
        json={
            "name": name,
            "graph": {"nodes": nodes, "edges": edges},
            "settings": settings,
            "tags": list(tags),
        },
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def start_node() -> dict:
    return {"id": "start_1", "type": "start", "position": {"x": 300, "y": 40}, "config": {}}


def after_start(api, name: str, node_id: str, type_: str, config: dict) -> int:
    """An API-entry journey: start → one node."""
    step = {"id": node_id, "type": type_, "position": {"x": 300, "y": 240}, "config": config}
    edge = {"source": "start_1", "source_handle": "next", "target": node_id}
    return created(api, name, [start_node(), step], [edge], {"entry": {"type": "api"}})


def tagged(api, name: str, tags) -> int:
    """An empty API-entry draft with these tags."""
    return created(api, name, [start_node()], [], {"entry": {"type": "api"}}, tags=tags)


DAY_WAIT = {"mode": "duration", "duration": {"value": 1, "unit": "days"}}


def opened(page: Page, url: str) -> None:
    page.set_viewport_size({"width": 1600, "height": 1000})
    sign_in(page, url)
    expect(page.get_by_role("heading", name="Journeys")).to_be_visible()


def saved(page: Page) -> None:
    expect(page.get_by_test_id("save-state")).to_have_text("All changes saved", timeout=10_000)


def cart_journey_settings(page: Page, url: str, api, name: str):
    """A draft entered by `cart_updated`, opened in the canvas with its settings drawer."""
    carts = created(
        api, name, [start_node()], [],
        {"entry": {"type": "event", "events": [{"name": "cart_updated"}]}},
    )
    opened(page, url)
    page.goto(f"{url}/journeys/{carts}")
    page.get_by_role("button", name="Journey settings").click()
    return carts, page.get_by_test_id("settings-drawer")


def test_the_key_property_is_set_in_journey_settings_from_the_events_properties(
    live_server_url,
    account,  # noqa: F811 (the fixture imported above)
    browser_page: Page,
):
    page = browser_page
    sent = account.post(
        "/events",
        json={
            "events": [
                {"customer_id": "ann", "name": "cart_updated", "properties": {"cart_id": "A1", "total": 30}},
                {"customer_id": "ann", "name": "page_viewed", "properties": {"url": "/"}},
            ]
        },
    )
    assert sent.status_code == 202, sent.text
    carts, drawer = cart_journey_settings(page, live_server_url, account, "Cart recovery")

    # The cart event's own properties are offered (not another event's).
    suggestions = drawer.get_by_test_id("entry-key-suggestions").locator("option")
    expect(suggestions).to_have_count(2)
    assert [suggestions.nth(i).get_attribute("value") for i in range(2)] == ["cart_id", "total"]

    key = drawer.get_by_label("Entry key property")
    key.fill("cart_id")
    expect(drawer).to_contain_text("One run per cart_id value per customer")
    saved(page)
    entry = account.get(f"/journeys/{carts}").json()["settings"]["entry"]
    assert entry["key"] == {"property": "cart_id"}

    # With a key, a goal can count only the purchase of the run's own cart.
    drawer.get_by_role("button", name="+ Add goal").click()
    drawer.get_by_label("Goal 1 same key").check()
    expect(drawer).to_contain_text("same cart_id only")
    saved(page)
    goal = account.get(f"/journeys/{carts}").json()["settings"]["goals"][0]
    assert goal["same_key"] is True
    drawer.get_by_label("Goal 1 same key").uncheck()

    # Emptied, the journey runs once per customer again: the key is gone from the settings.
    key.fill("")
    expect(drawer).to_contain_text("Leave empty for one run per customer")
    saved(page)
    assert "key" not in account.get(f"/journeys/{carts}").json()["settings"]["entry"]


def test_an_exit_condition_matches_only_the_runs_own_key_when_toggled(
    live_server_url,
    account,  # noqa: F811
    browser_page: Page,
):
    page = browser_page
    carts, drawer = cart_journey_settings(page, live_server_url, account, "Cart reminder")
    drawer.get_by_role("button", name="+ Add exit condition").click()
    drawer.get_by_label("event name").fill("purchase")
    # Without a key there is no run's key to match: not offered.
    expect(drawer.get_by_label("Exit condition 1 same key")).to_have_count(0)

    drawer.get_by_label("Entry key property").fill("cart_id")
    toggle = drawer.get_by_label("Exit condition 1 same key")
    expect(toggle).to_be_enabled()
    toggle.check()
    expect(drawer).to_contain_text("same cart_id only")
    saved(page)
    exits = account.get(f"/journeys/{carts}").json()["settings"]["exit_conditions"]
    assert exits == [{"event": "purchase", "same_key": True}]
    # The journey validates with it (the API accepts the flag where the canvas put it).
    page.get_by_role("button", name="Validate").click()
    expect(page.get_by_text("The journey is valid and ready to start.")).to_be_visible()

    # Editing the rule keeps the flag on it.
    drawer.get_by_label("event name").fill("order_completed")
    saved(page)
    exits = account.get(f"/journeys/{carts}").json()["settings"]["exit_conditions"]
    assert exits == [{"event": "order_completed", "same_key": True}]

    # A second rule: the flag cannot stay (the API takes it on one event rule only).
    drawer.get_by_role("button", name="+ Add rule").click()
    expect(toggle).to_be_disabled()
    expect(toggle).not_to_be_checked()
    saved(page)
    exits = account.get(f"/journeys/{carts}").json()["settings"]["exit_conditions"]
    assert "same_key" not in str(exits)


def test_a_date_wait_is_set_in_its_form_and_summarized_on_the_node(
    live_server_url,
    account,  # noqa: F811
    browser_page: Page,
):
    page = browser_page
    reminders = after_start(account, "Appointment reminder", "wait_1", "wait", DAY_WAIT)
    opened(page, live_server_url)
    page.goto(f"{live_server_url}/journeys/{reminders}")
    card = node(page, "wait_1")
    card.click()
    panel = page.get_by_test_id("node-panel")
    panel.get_by_label("How to wait").select_option("date")
    panel.get_by_label("Date field").fill("appointment_at")
    panel.get_by_label("Offset direction").select_option("before")
    panel.get_by_label("Offset amount").fill("1")
    panel.get_by_label("Offset unit").select_option("days")
    panel.get_by_label("Time of day").fill("09:00")

    summary = "1 day before appointment_at, at 09:00 their time"
    expect(card).to_contain_text(summary)
    expect(panel.get_by_test_id("date-wait-summary")).to_contain_text(summary)
    # The server's handles for a date wait: `next` and `missed`.
    outputs = card.locator(".react-flow__handle.source")
    expect(outputs).to_have_count(2)
    assert [outputs.nth(i).get_attribute("data-handleid") for i in range(2)] == ["next", "missed"]
    saved(page)
    graph = account.get(f"/journeys/{reminders}").json()["graph"]
    config = next(n for n in graph["nodes"] if n["id"] == "wait_1")["config"]
    assert config == {
        "mode": "date",
        "attribute": "appointment_at",
        "offset": {"value": -1, "unit": "days"},
        "time": "09:00",
    }

    # From the trigger event instead, on the date itself: the summary follows.
    panel.get_by_label("Date source").select_option("event")
    panel.get_by_label("Offset direction").select_option("on")
    expect(card).to_contain_text("On the event’s appointment_at, at 09:00 their time")
    saved(page)
    config = next(
        n for n in account.get(f"/journeys/{reminders}").json()["graph"]["nodes"] if n["id"] == "wait_1"
    )["config"]
    assert config == {"mode": "date", "event_property": "appointment_at", "time": "09:00"}
    page.get_by_role("button", name="Validate").click()
    expect(page.get_by_text("The journey is valid and ready to start.")).to_be_visible()


def test_the_journeys_list_filters_by_tag_and_edits_tags(
    live_server_url,
    account,  # noqa: F811
    browser_page: Page,
):
    page = browser_page
    tagged(account, "Cart recovery", tags=["cart", "email"])
    tagged(account, "Browse abandonment", tags=["cart"])
    welcome = tagged(account, "Welcome", tags=["onboarding"])
    opened(page, live_server_url)
    table = page.locator("table.journeys-table")
    expect(table.locator("tbody tr")).to_have_count(3)

    page.get_by_label("Tag", exact=True).select_option("cart")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).not_to_contain_text("Welcome")

    # A row's tag is a filter too.
    page.get_by_label("Tag", exact=True).select_option("")
    expect(table.locator("tbody tr")).to_have_count(3)
    onboarding = table.get_by_label("Tags of Welcome").get_by_role("button", name="onboarding")
    # Shown as typed: tags match exactly, so a capitalized badge would name another tag.
    expect(onboarding).to_have_text("onboarding", use_inner_text=True)
    onboarding.click()
    expect(page.get_by_label("Tag", exact=True)).to_have_value("onboarding")
    expect(table.locator("tbody tr")).to_have_count(1)

    # Edited: the API keeps the new tags, and the list filters by them at once.
    row = table.locator("tbody tr", has_text="Welcome")
    row.get_by_role("button", name="Tags", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Journey tags").fill("onboarding, email ,  email")
    dialog.get_by_role("button", name="Save tags").click()
    expect(page.get_by_text("Tags of “Welcome” saved.")).to_be_visible()
    assert account.get(f"/journeys/{welcome}").json()["tags"] == ["onboarding", "email"]
    page.get_by_label("Tag", exact=True).select_option("email")
    expect(table.locator("tbody tr")).to_have_count(2)

    # Too long a tag: the API's reason shows in the dialog and nothing changes.
    table.locator("tbody tr", has_text="Welcome").get_by_role("button", name="Tags", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Journey tags").fill("x" * 51)
    dialog.get_by_role("button", name="Save tags").click()
    expect(dialog).to_contain_text("Tags: Item 0: at most 50 characters.")
    assert account.get(f"/journeys/{welcome}").json()["tags"] == ["onboarding", "email"]


def test_the_tag_filter_offers_every_tag_of_the_workspace_not_only_the_first_page(
    live_server_url,
    account,  # noqa: F811
    browser_page: Page,
):
    page = browser_page
    # The oldest journey is the only one tagged `legacy`; fifty newer ones fill the list's first
    # page (newest first, 50 a page), so its row is not loaded until "Load more".
    tagged(account, "Old newsletter", tags=["legacy"])
    for i in range(50):
        tagged(account, f"Campaign {i:02d}", tags=["campaign"])
    opened(page, live_server_url)
    table = page.locator("table.journeys-table")
    expect(table.locator("tbody tr")).to_have_count(50)
    expect(table).not_to_contain_text("Old newsletter")

    tag = page.get_by_label("Tag", exact=True)
    expect(tag.locator("option[value='legacy']")).to_have_text("legacy (1)")
    expect(tag.locator("option[value='campaign']")).to_have_text("campaign (50)")
    tag.select_option("legacy")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("Old newsletter")


def test_the_customer_page_links_both_runs_of_a_hand_off(
    live_server_url,
    account,  # noqa: F811
    browser_page: Page,
):
    page = browser_page
    vip_care = after_start(account, "VIP care", "hold", "wait", DAY_WAIT)
    welcome = after_start(account, "Welcome", "to_vip", "journey", {"journey_id": vip_care})
    for journey_id in (vip_care, welcome):
        assert account.put(f"/journeys/{journey_id}/start", json={}).status_code == 200
    who = account.get("/customers", params={"limit": 1}).json()["results"][0]["external_id"]
    assert account.post(f"/journeys/{welcome}/enrollments", json={"customer_ids": [who]}).status_code == 202

    def both_runs():
        runs = account.get(f"/customers/{who}/enrollments").json()["results"]
        by_journey = {r["journey_id"]: r for r in runs}
        # Both runs in one answer (the page and its links are read by two statements).
        return by_journey if vip_care in by_journey and by_journey.get(welcome, {}).get("handed_off_to") else None

    deadline = time.monotonic() + 60
    while not (runs := both_runs()) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert runs, "the hand-off never happened"
    source, handed = runs[welcome]["id"], runs[vip_care]["id"]

    opened(page, live_server_url)
    # The hand-off card names its target from the first load, before any picker is opened.
    page.goto(f"{live_server_url}/journeys/{welcome}")
    expect(node(page, "to_vip")).to_contain_text("Enroll in “VIP care”")
    page.goto(f"{live_server_url}/audiences/customers/{who}")
    section = page.get_by_role("region", name="Journeys")
    source_links = section.get_by_label("Hand-offs of Welcome")
    expect(source_links).to_contain_text(f"Handed off to VIP care (run #{handed})")
    handed_links = section.get_by_label("Hand-offs of VIP care")
    expect(handed_links).to_contain_text(f"Handed off from Welcome (run #{source}, node to_vip)")
    # Each link leads to the other run on the page.
    source_links.get_by_role("link", name="VIP care").click()
    expect(page).to_have_url(re.compile(rf"#pass-{handed}$"))
    handed_links.get_by_role("link", name="Welcome").click()
    expect(page).to_have_url(re.compile(rf"#pass-{source}$"))
