"""Editing steps on the canvas as a marketer does, each read back through the API: a cleared choice
leaves the saved step (the "Send through" picker back on the workspace default, "Wait for"
unticked), and not a stale value the engine would still act on."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from .test_canvas import account, node  # noqa: F401  (fixtures and helpers)
from .test_canvas_failures import _node, _open
from .test_canvas_message_form import _saved

pytestmark = pytest.mark.e2e


def _create(
    api: httpx.Client, graph: dict, settings: dict | None = None, name: str = "Cart reminder"
) -> int:
    created = api.post(
        "/journeys",
        json={"name": name, "graph": graph, "settings": settings or {"entry": {"type": "api"}}},
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _sms_graph() -> dict:
    return {
        "nodes": [
            _node("start", "start", 0, 0),
            _node(
                "sms",
                "message",
                0,
                180,
                {"channel": "sms", "content": {"text": "Your cart is waiting"}},
                "Reminder",
            ),
            _node("end", "exit", 0, 400),
        ],
        "edges": [
            {"source": "start", "source_handle": "next", "target": "sms"},
            {"source": "sms", "source_handle": "next", "target": "end"},
        ],
    }


def _config(journey: dict, node_id: str) -> dict:
    return next(n for n in journey["graph"]["nodes"] if n["id"] == node_id)["config"]


def test_clearing_send_through_and_wait_for_removes_them_from_the_saved_step(
    live_server_url,
    account,
    browser_page,  # noqa: F811
):
    journey_id = _create(account, _sms_graph())
    sms_channel = next(
        c for c in account.get("/channels").json()["results"] if c["channel"] == "sms"
    )
    page = browser_page
    _open(page, live_server_url, journey_id)
    node(page, "sms").click()
    panel = page.get_by_test_id("node-panel")

    panel.get_by_label("Send through").select_option(label="Sandbox sms · sandbox")
    panel.get_by_label("Wait for").check()
    config = _config(
        _saved(
            account,
            journey_id,
            lambda j: "channel_id" in _config(j, "sms") and "await" in _config(j, "sms"),
        ),
        "sms",
    )
    assert config["channel_id"] == sms_channel["id"]
    assert config["await"]["status"] == "delivered"

    panel.get_by_label("Send through").select_option(label="Workspace default (Sandbox sms)")
    panel.get_by_label("Wait for").uncheck()
    config = _config(
        _saved(
            account,
            journey_id,
            lambda j: "channel_id" not in _config(j, "sms") and "await" not in _config(j, "sms"),
        ),
        "sms",
    )
    assert config["content"] == {"text": "Your cart is waiting"}
    # Without `await` the step has no yes / no outputs again.
    expect(
        node(page, "sms").locator('.react-flow__handle.source[data-handleid="yes"]')
    ).to_have_count(0)
