"""The canvas's layout as a marketer sees it at 1440×900: nodes keep their height when the live
numbers arrive (edges stay straight), a journey opens clear of the toolbar, zoom controls and
minimap, a template opens arranged (no node on a node, no edge through a node), a node dropped at
the right edge stays in view beside its panel, the journey's name gets the bar's room and Stop
stays on the bar's line, a paste lands beside the original and its panel edits the copy, and Enter
on a palette item puts the new step below the selected one, connected to it."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from journeys.models import Enrollment

from .test_canvas import account, drop, name_box, node  # noqa: F401  (fixtures and helpers)
from .test_canvas_editing import _create
from .test_canvas_failures import _node, _open
from .test_canvas_message_form import _saved

pytestmark = pytest.mark.e2e

EMAIL = {"channel": "email", "content": {"subject": "Your cart", "html": "<p>Still there?</p>"}}
HOUR = {"mode": "duration", "duration": {"value": 1, "unit": "hours"}}


def _chain() -> dict:
    """start → email → wait an hour → exit, in a column."""
    return {
        "nodes": [
            _node("start", "start", 0, 0),
            _node("mail", "message", 0, 200, EMAIL, "Cart email"),
            _node("wait", "wait", 0, 400, HOUR, "Wait an hour"),
            _node("end", "exit", 0, 600),
        ],
        "edges": [
            {"source": "start", "source_handle": "next", "target": "mail"},
            {"source": "mail", "source_handle": "next", "target": "wait"},
            {"source": "wait", "source_handle": "next", "target": "end"},
        ],
    }


@pytest.fixture
def canvas(live_server_url, account, browser_page):  # noqa: F811
    """`canvas(graph, name=…)` creates a journey with `graph` through the API and opens it in the
    editor; it returns the page and the journey's id."""

    def open_journey(graph: dict, name: str = "Cart reminder") -> tuple[Page, int]:
        journey_id = _create(account, graph, name=name)
        _open(browser_page, live_server_url, journey_id)
        return browser_page, journey_id

    return open_journey


def _box(locator) -> dict:
    box = locator.bounding_box()
    assert box, "not on screen"
    return box


def _overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def _heights(page: Page) -> dict[str, float]:
    return {
        n.get_attribute("data-id"): round(_box(n)["height"] / _zoom(page), 1)
        for n in page.locator(".react-flow__node").all()
    }


# True once the view has not moved between two polls (pans and fits animate for up to 300 ms).
STILL = """() => {
  const t = getComputedStyle(document.querySelector('.react-flow__viewport')).transform;
  const still = window.__viewport === t;
  window.__viewport = t;
  return still;
}"""


def _still(page: Page) -> None:
    page.wait_for_function(STILL, polling=150)


def _zoom(page: Page) -> float:
    return page.evaluate(
        "() => new DOMMatrixReadOnly(getComputedStyle(document.querySelector('.react-flow__viewport')).transform).a"
    )


# True when no two nodes overlap and no edge runs through a node it does not join (edges sampled
# every 4 px along their drawn path, in screen coordinates).
TIDY = """() => {
  const inside = (p, r, inset) => p.x > r.left + inset && p.x < r.right - inset && p.y > r.top + inset && p.y < r.bottom - inset;
  const nodes = [...document.querySelectorAll('.react-flow__node')].map((n) => n.getBoundingClientRect());
  if (nodes.length < 2) return false;
  for (let i = 0; i < nodes.length; i++)
    for (let j = i + 1; j < nodes.length; j++) {
      const a = nodes[i], b = nodes[j];
      if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) return false;
    }
  for (const path of document.querySelectorAll('.react-flow__edge-path')) {
    const m = path.getScreenCTM();
    const length = path.getTotalLength();
    const at = (d) => { const p = path.getPointAtLength(d); return new DOMPoint(p.x, p.y).matrixTransform(m); };
    const ends = [at(0), at(length)];
    const others = nodes.filter((r) => !ends.some((e) => inside(e, r, -14)));
    for (let d = 0; d <= length; d += 4) if (others.some((r) => inside(at(d), r, 2))) return false;
  }
  return true;
}"""


def test_nodes_keep_their_height_and_edges_stay_straight_when_the_counts_arrive(canvas, account):  # noqa: F811
    page, journey_id = canvas(_chain())
    expect(node(page, "end")).to_be_visible()
    before = _heights(page)

    assert account.put(f"/journeys/{journey_id}/start", json={}).status_code == 200
    enrolled = account.post(
        f"/journeys/{journey_id}/enrollments", json={"customer_ids": ["ada", "bob"]}
    )
    assert enrolled.status_code == 202, enrolled.text
    deadline = time.monotonic() + 30
    while Enrollment.objects.unscoped().filter(journey_id=journey_id, node_id="wait").count() < 2:
        assert time.monotonic() < deadline, "the customers did not reach the wait"
        time.sleep(0.3)

    page.reload()
    expect(node(page, "mail").locator('[data-count="sent"] b')).to_have_text("2", timeout=30_000)
    expect(node(page, "wait").locator('[data-count="waiting"] b')).to_have_text("2")
    assert _heights(page) == before
    # Every edge goes down from its output to the next step's input, never up and around.
    for path in page.locator(".react-flow__edge-path").all():
        ys = path.evaluate(
            "p => Array.from({length: 21}, (_, i) => p.getPointAtLength(p.getTotalLength() * i / 20).y)"
        )
        assert all(b >= a - 0.5 for a, b in zip(ys, ys[1:], strict=False)), ys


def _wide_graph() -> dict:
    """A trigger over a five-way split, each path three waits and an exit: about as wide as it is
    tall, so a plain fit puts the bottom corners under the zoom controls and the minimap."""
    paths = "abcde"
    nodes = [
        _node("start", "start", 600, 0),
        _node(
            "split",
            "split",
            600,
            180,
            {"paths": [{"id": p, "name": p.upper(), "percent": 20} for p in paths]},
            "Five ways",
        ),
    ]
    edges = [{"source": "start", "source_handle": "next", "target": "split"}]
    for i, p in enumerate(paths):
        x = 300 * i
        nodes += [
            _node(f"w1{p}", "wait", x, 360, HOUR),
            _node(f"w2{p}", "wait", x, 540, HOUR),
            _node(f"w3{p}", "wait", x, 720, HOUR),
            _node(f"x{p}", "exit", x, 900),
        ]
        edges += [
            {"source": "split", "source_handle": p, "target": f"w1{p}"},
            {"source": f"w1{p}", "source_handle": "next", "target": f"w2{p}"},
            {"source": f"w2{p}", "source_handle": "next", "target": f"w3{p}"},
            {"source": f"w3{p}", "source_handle": "next", "target": f"x{p}"},
        ]
    return {"nodes": nodes, "edges": edges}


def _clear_of_the_chrome(page: Page) -> None:
    chrome = {
        "toolbar": _box(page.locator(".canvas-tools")),
        "zoom controls": _box(page.locator(".react-flow__controls")),
        "minimap": _box(page.locator(".react-flow__minimap")),
    }
    for n in page.locator(".react-flow__node").all():
        box = _box(n)
        for name, part in chrome.items():
            assert not _overlap(box, part), f"{n.get_attribute('data-id')} is under the {name}"


def test_a_journey_opens_and_arranges_clear_of_the_toolbar_zoom_controls_and_minimap(canvas, account):  # noqa: F811
    page, _ = canvas(_wide_graph())
    expect(node(page, "xe")).to_be_visible()
    page.wait_for_load_state("networkidle")
    _clear_of_the_chrome(page)

    page.get_by_role("button", name="Auto arrange").click()
    expect(page.get_by_role("button", name="Undo")).to_be_enabled()  # arranged
    _still(page)
    _clear_of_the_chrome(page)


def test_a_template_opens_arranged_with_no_edge_through_a_node(
    live_server_url,
    account,  # noqa: F811
    browser_page: Page,
):
    created = account.post("/journeys", json={"template": "onboarding", "name": "Onboarding"})
    assert created.status_code == 201, created.text
    page = browser_page
    _open(page, live_server_url, created.json()["id"])
    expect(page.locator(".react-flow__node").first).to_be_visible()
    page.wait_for_function(TIDY)
    # The arranged layout is the journey's from now on: it is saved, not redone on every open.
    _saved(
        account,
        created.json()["id"],
        lambda j: len({n["position"]["x"] for n in j["graph"]["nodes"]}) > 1,
    )


def test_a_node_dropped_at_the_right_edge_stays_in_view_beside_its_panel(canvas, account):  # noqa: F811
    page, _ = canvas(_chain())
    expect(node(page, "end")).to_be_visible()
    area = page.get_by_test_id("canvas")
    drop(page, "sms", _box(area)["width"] - 40, 300)
    expect(page.get_by_test_id("node-panel")).to_be_visible()
    dropped = node(page, "message_1")
    expect(dropped).to_be_visible()
    _still(page)
    box, view = _box(dropped), _box(area)
    assert box["x"] >= view["x"] and box["x"] + box["width"] <= view["x"] + view["width"], (box, view)
    assert box["y"] >= view["y"] and box["y"] + box["height"] <= view["y"] + view["height"], (box, view)


def test_the_journey_name_gets_the_bars_room_and_stop_stays_on_its_line(canvas, account):  # noqa: F811
    name = "Abandoned cart: remind weekend shoppers"
    page, journey_id = canvas(_chain(), name=name)
    title = page.get_by_label("Journey name")
    expect(title).to_have_value(name)
    assert title.evaluate("e => e.scrollWidth <= e.clientWidth"), "the name is cut"

    # Live, the bar holds more buttons: the name gives way (whole on hover), Stop stays on the line.
    assert account.put(f"/journeys/{journey_id}/start", json={}).status_code == 200
    page.reload()
    expect(title).to_have_attribute("title", name)
    stop = page.get_by_role("button", name="Stop", exact=True)
    expect(stop).to_be_visible()
    back = _box(page.get_by_role("link", name="Back to journeys"))
    middle = back["y"] + back["height"] / 2
    for button in ("Journey settings", "Publish changes", "Pause", "Stop"):
        box = _box(page.get_by_role("button", name=button, exact=True))
        assert box["y"] < middle < box["y"] + box["height"], f"{button} is not on the bar's line"


def test_a_pasted_copy_lands_beside_the_original_and_its_panel_edits_the_copy(canvas, account):  # noqa: F811
    page, _ = canvas(_chain())
    node(page, "mail").click()
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    copy = node(page, "message_1")
    expect(copy).to_be_visible()
    _still(page)
    for other in page.locator(".react-flow__node").all():
        if other.get_attribute("data-id") != "message_1":
            assert not _overlap(_box(copy), _box(other)), other.get_attribute("data-id")
    panel = page.get_by_test_id("node-panel")
    expect(panel).to_contain_text("Node id: message_1")
    name_box(panel).fill("Cart email, second try")
    expect(copy).to_contain_text("Cart email, second try")
    expect(node(page, "mail")).to_contain_text("Cart email")
    expect(node(page, "mail")).not_to_contain_text("second try")


def test_enter_on_a_palette_item_puts_the_step_below_the_selected_one_and_connects_it(canvas, account):  # noqa: F811
    graph = _chain()
    graph["nodes"] = graph["nodes"][:2]
    graph["edges"] = graph["edges"][:1]
    page, _ = canvas(graph)
    node(page, "mail").click()
    page.locator('[data-palette="sms"]').focus()
    page.keyboard.press("Enter")
    added = node(page, "message_1")
    expect(added).to_be_visible()
    expect(page.get_by_test_id("rf__edge-mail-next-message_1")).to_have_count(1)
    _still(page)
    mail, box = _box(node(page, "mail")), _box(added)
    assert box["y"] > mail["y"] + mail["height"], "not below the selected step"
    for other in page.locator(".react-flow__node").all():
        if other.get_attribute("data-id") != "message_1":
            assert not _overlap(box, _box(other)), other.get_attribute("data-id")
    # The new step is the selection: Enter on the next item goes on below it.
    page.locator('[data-palette="exit"]').focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("rf__edge-message_1-next-exit_1")).to_have_count(1)
