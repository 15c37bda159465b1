"""The canvas by keyboard alone, as a marketer who does not use a mouse meets it: steps are named by
their type and name, a focused step opens its settings on Enter and goes on Delete, an output is
connected to another step from a "Connect to" menu in the step's settings (and disconnected
there), and the focus is plainly visible on steps, edges and the zoom controls."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .test_canvas import account, name_box, node  # noqa: F401  (fixtures and helpers)
from .test_canvas_failures import _node
from .test_canvas_layout import canvas  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e


def _graph() -> dict:
    """start → email; a wait and an exit not connected yet."""
    email = {"channel": "email", "content": {"subject": "Your cart", "html": "<p>Still there?</p>"}}
    wait = {"mode": "duration", "duration": {"value": 1, "unit": "hours"}}
    return {
        "nodes": [
            _node("start", "start", 0, 0, name="Cart abandoned"),
            _node("mail", "message", 0, 200, email, "Cart email"),
            _node("wait", "wait", 0, 400, wait, "Wait an hour"),
            _node("end", "exit", 0, 600, name="Done"),
        ],
        "edges": [{"source": "start", "source_handle": "next", "target": "mail"}],
    }


def _ring(locator) -> dict:
    return locator.evaluate(
        "e => { const s = getComputedStyle(e); return {style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor}; }"
    )


def _plainly_visible(locator) -> None:
    ring = _ring(locator)
    assert ring["style"] == "solid" and ring["width"] >= 2, ring
    assert not ring["color"].startswith("rgba") or ring["color"].endswith(", 1)"), ring


def test_steps_are_named_opened_connected_and_deleted_from_the_keyboard(canvas, account):  # noqa: F811
    page, _ = canvas(_graph())

    # Each step is named by its type and its name.
    mail = page.get_by_role("group", name="Email: Cart email")
    expect(mail).to_be_visible()
    expect(page.get_by_role("group", name="Trigger: Cart abandoned")).to_be_visible()
    expect(page.get_by_role("group", name="Exit: Done")).to_be_visible()
    # Edges name the steps they join.
    expect(page.get_by_role("group", name="Cart abandoned (Next) to Cart email")).to_have_count(1)

    # Tab reaches a step, and the focus is plain to see.
    page.get_by_role("link", name="Back to journeys").focus()
    page.keyboard.press("Tab")
    for _ in range(80):
        if page.evaluate("() => document.activeElement.classList.contains('react-flow__node')"):
            break
        page.keyboard.press("Tab")
    focused = page.locator(".react-flow__node:focus")
    expect(focused).to_have_count(1)
    _plainly_visible(focused)

    # Enter on a focused step opens its settings, and the focus goes there.
    mail.focus()
    page.keyboard.press("Enter")
    panel = page.get_by_test_id("node-panel")
    expect(panel.get_by_role("heading", name="Cart email")).to_be_visible()
    expect(name_box(panel)).to_be_focused()

    # Its output is connected from the "Connect to" menu, which lists the steps it may go to.
    menu = panel.get_by_label("Next: connect to")
    menu.focus()
    expect(menu.locator("option")).to_have_text(
        ["Not connected (ends the journey)", "Wait: Wait an hour", "Exit: Done"]
    )
    menu.select_option(label="Wait: Wait an hour")
    expect(page.get_by_test_id("rf__edge-mail-next-wait")).to_have_count(1)
    # Escape closes the settings and gives the focus back to the step.
    page.keyboard.press("Escape")
    expect(panel).to_have_count(0)
    expect(mail).to_be_focused()

    # The wait's output, from the keyboard too; then disconnected again.
    wait = page.get_by_role("group", name="Wait: Wait an hour")
    wait.focus()
    page.keyboard.press("Enter")
    wait_menu = panel.get_by_label("Next: connect to")
    wait_menu.select_option(label="Exit: Done")
    expect(page.get_by_test_id("rf__edge-wait-next-end")).to_have_count(1)
    wait_menu.select_option(label="Not connected (ends the journey)")
    expect(page.get_by_test_id("rf__edge-wait-next-end")).to_have_count(0)
    page.keyboard.press("Escape")

    # Delete on a focused step removes it, with its edges.
    wait.focus()
    page.keyboard.press("Delete")
    expect(node(page, "wait")).to_have_count(0)
    expect(page.get_by_test_id("rf__edge-mail-next-wait")).to_have_count(0)
    expect(page.get_by_role("button", name="Undo")).to_be_enabled()


def test_the_focus_is_plainly_visible_on_edges_and_the_zoom_controls(canvas, account):  # noqa: F811
    page, _ = canvas(_graph())
    expect(node(page, "mail")).to_be_visible()
    page.get_by_role("button", name="Zoom In").focus()
    page.keyboard.press("Tab")  # keyboard focus, so :focus-visible applies
    page.keyboard.press("Shift+Tab")
    _plainly_visible(page.get_by_role("button", name="Zoom In"))
    edge = page.get_by_test_id("rf__edge-start-next-mail")
    edge.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    expect(edge).to_be_focused()
    width = edge.locator(".react-flow__edge-path").evaluate("p => parseFloat(getComputedStyle(p).strokeWidth)")
    assert width >= 3, width
