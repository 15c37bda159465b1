"""The audiences pages end to end: a marketer uploads a big CSV with bad lines and watches the
progress bar move while the worker imports it, then reads the line-by-line errors; builds a
segment with the form (attribute, event with a property filter and a window, a NOT group) and
sees its live count equal the API's; and configures a channel and sends a test message."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from workspaces.models import User
from workspaces.services import api_key_create, workspace_create

PASSWORD = "e2e-password-123"
GOOD_LINES = 250_000  # five of the importer's 50,000-line chunks: the bar has steps to show

pytestmark = pytest.mark.e2e


@pytest.fixture
def marketer(live_server_url):
    user = User.objects.create_user("marketer@example.com", PASSWORD)
    workspace = workspace_create(name="Acme Shop", owner=user)
    _, key = api_key_create(workspace=workspace, name="e2e backend")
    api = httpx.Client(
        base_url=f"{live_server_url}/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    yield api
    api.close()


def sign_in(page: Page, url: str, path: str) -> None:
    page.goto(url + "/")
    page.get_by_label("Email").fill("marketer@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Audiences")).to_be_visible()
    page.goto(url + path)


def write_csv(path: Path) -> dict[int, str]:
    """GOOD_LINES customers plus four bad lines; returns line number → expected error start."""
    bad = {
        3: ",nobody@example.com,,Nobody,free,",  # no id
        6: "bad-email,not-an-email,,Bad,free,",
        9: "bad-phone,ok@example.com,12345,Bad,free,",
        12: "broken,b@example.com,,Broken",  # too few fields
    }
    expected = {
        3: "missing external_id",
        6: "malformed email",
        9: "malformed phone",
        12: "broken row",
    }
    lines = ["external_id,email,phone,first_name,plan,tags"]
    n = 0
    while len(lines) < GOOD_LINES + len(bad) + 1:
        line_no = len(lines) + 1
        if line_no in bad:
            lines.append(bad[line_no])
        else:
            lines.append(
                f"c{n},c{n}@example.com,,Name{n},{'pro' if n % 4 == 0 else 'free'},{'vip;beta' if n % 10 == 0 else ''}"
            )
            n += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return expected


def test_csv_upload_shows_progress_and_errors(
    live_server_url, marketer, browser_page: Page, tmp_path, docs_screenshot
):
    page = browser_page
    csv_path = tmp_path / "customers.csv"
    expected_errors = write_csv(csv_path)
    sign_in(page, live_server_url, "/audiences/import")

    page.get_by_label("CSV file").set_input_files(str(csv_path))
    page.get_by_role("button", name="Upload").click()
    progress = page.get_by_role("region", name="Import progress")
    bar = page.get_by_role("progressbar", name="Import progress")
    expect(bar).to_be_visible()

    # Sample the bar while the worker runs: it must pass through values between 0 and 100.
    seen: list[int] = []
    shot_mid_run = False
    deadline = time.monotonic() + 120
    while progress.get_attribute("data-status") in ("queued", "running"):
        value = bar.get_attribute("aria-valuenow")
        if value is not None and (not seen or seen[-1] != int(value)):
            seen.append(int(value))
            if 0 < int(value) < 100 and not shot_mid_run:
                docs_screenshot(page, "audiences-csv-upload-running.png")
                shot_mid_run = True
        assert time.monotonic() < deadline, f"import still running; progress seen {seen}"
        time.sleep(0.05)
    assert progress.get_attribute("data-status") == "done"
    assert any(0 < v < 100 for v in seen), f"the bar never moved between 0 and 100: {seen}"
    assert seen == sorted(seen), f"the bar went backwards: {seen}"
    expect(bar).to_have_attribute("aria-valuenow", "100")

    # The final counts and the line-by-line report are the API's.
    job = marketer.get("/imports", params={"limit": 1}).json()["results"][0]
    assert job["created"] == GOOD_LINES and job["failed"] == 4
    expect(progress.locator('[data-count="created"]')).to_have_text(f"{GOOD_LINES:,}")
    expect(progress.locator('[data-count="failed"]')).to_have_text("4")
    rows = page.get_by_role("table", name="Import errors").locator("tbody tr")
    expect(rows).to_have_count(4)
    for i, (line, message) in enumerate(sorted(expected_errors.items())):
        expect(rows.nth(i).locator("td").nth(0)).to_have_text(str(line))
        expect(rows.nth(i).locator("td").nth(1)).to_contain_text(message)
    page.set_viewport_size({"width": 1440, "height": 1100})
    docs_screenshot(page, "audiences-csv-upload.png", full_page=True)

    # The customers table finds an imported customer; paging moves through the million-row way.
    page.get_by_role("link", name="Customers").click()
    table = page.get_by_role("table", name="Customers")
    page.get_by_label("Search customers").fill("c12345")  # a prefix: c12345 and c123450…c123459
    expect(table.locator("tbody tr")).to_have_count(11)
    expect(page.get_by_role("link", name="c12345", exact=True)).to_be_visible()
    page.get_by_label("Search customers").fill("")
    page.get_by_label("Tag").fill("vip")
    # Typing is debounced and the old rows stay (dimmed) until the new ones arrive: wait for the
    # URL to carry the filter and the table to answer it.
    expect(page).to_have_url(re.compile(r"[?&]tag=vip"))
    expect(table).to_have_attribute("aria-busy", "false")
    table_rows = table.locator("tbody tr")
    expect(table_rows).to_have_count(50)
    first_id = table_rows.first.get_by_role("link").inner_text()
    page.get_by_role("button", name="Next →").click()
    expect(page.get_by_text("Page 2")).to_be_visible()
    expect(table).to_have_attribute("aria-busy", "false")
    expect(table_rows).to_have_count(50)
    expect(table_rows.first.get_by_role("link")).not_to_have_text(first_id)
    expect(table_rows.first).to_contain_text("vip")
    page.get_by_role("button", name="← Previous").click()
    expect(table_rows.first.get_by_role("link")).to_have_text(first_id)


def test_segment_builder_live_count(live_server_url, marketer, browser_page: Page, docs_screenshot):
    page = browser_page
    people = [
        {
            "external_id": f"p{i}",
            "email": f"p{i}@example.com",
            "attributes": {"plan": "pro" if i % 2 else "free"},
        }
        for i in range(20)
    ]
    assert marketer.post("/customers", json={"customers": people}).status_code == 200
    events = [
        {"customer_id": f"p{i}", "name": "purchase", "properties": {"amount": 20 * i}}
        for i in range(0, 20, 3)
    ]
    assert marketer.post("/events", json={"events": events}).status_code == 202
    vip = marketer.post("/lists", json={"name": "VIPs"}).json()
    marketer.put(f"/lists/{vip['id']}/members", json={"customer_ids": ["p1", "p3", "p9"]})

    sign_in(page, live_server_url, "/audiences/segments")
    page.get_by_role("link", name="+ New segment").click()
    page.get_by_label("Name").fill("Pro buyers outside VIPs")
    count = page.get_by_test_id("segment-count")
    root = page.get_by_role("group", name="Condition")

    # Rule 1: plan is pro.
    root.get_by_label("Add rule").last.select_option("attribute")
    rule = root.locator('[data-rule="attribute"]').first
    rule.get_by_label("attribute").fill("plan")
    rule.get_by_label("value").fill("pro")
    expect(count).to_have_text("10")

    # Rule 2: purchased with amount ≥ 100 in the last 30 days.
    root.get_by_label("Add rule").last.select_option("event")
    event = root.locator('[data-rule="event"]').first
    event.get_by_label("event name").fill("purchase")
    event.get_by_label("window").select_option("within")
    event.get_by_role("button", name="+ Add property filter").click()
    event.get_by_label("property name").fill("amount")
    event.get_by_label("operator").select_option("gte")
    event.get_by_label("value").fill("100")

    # Group: NOT (in list VIPs).
    root.get_by_role("button", name="+ Add group").last.click()
    group = root.get_by_role("group", name="Group at depth 1")
    group.get_by_label("Add rule").select_option("list")
    group.get_by_label("list").select_option(str(vip["id"]))
    group.locator(".cond-head").get_by_label("NOT").check()

    condition = {
        "all": [
            {"attribute": "plan", "op": "eq", "value": "pro"},
            {
                "event": "purchase",
                "where": [{"property": "amount", "op": "gte", "value": 100}],
                "within": {"value": 30, "unit": "days"},
            },
            {"not": {"any": [{"list": vip["id"]}]}},
        ]
    }
    expected = marketer.post("/segments/preview", json={"condition": condition}).json()
    # Pro (odd) buyers of ≥ 100 are p9 (180) and p15 (300); p9 is on the VIP list.
    assert expected["count"] == 1 and expected["sample"][0]["external_id"] == "p15"
    expect(count).to_have_text(str(expected["count"]))
    sample = page.get_by_role("list", name="Sample")
    for customer in expected["sample"]:
        expect(sample).to_contain_text(customer["external_id"])
    page.get_by_role("button", name="Show JSON").click()
    page.set_viewport_size({"width": 1440, "height": 1100})
    docs_screenshot(page, "audiences-segment-builder.png", full_page=True)

    page.get_by_role("button", name="Save segment").click()
    expect(page.get_by_text("Saved segment “Pro buyers outside VIPs”.")).to_be_visible()
    saved = marketer.get("/segments").json()["results"][0]
    assert saved["condition"] == condition
    # Re-opened, the builder shows the same condition and count.
    page.get_by_role("link", name="Pro buyers outside VIPs").click()
    expect(count).to_have_text(str(expected["count"]))
    expect(
        page.get_by_role("group", name="Group at depth 1").locator(".cond-head").get_by_label("NOT")
    ).to_be_checked()


def test_channel_setup_default_and_test_send(
    live_server_url, marketer, browser_page: Page, docs_screenshot
):
    page = browser_page
    sign_in(page, live_server_url, "/channels")
    expect(page.get_by_role("heading", name="No channels yet")).to_be_visible()

    # An SMTP config first: its password is typed once and never shown again.
    page.get_by_role("button", name="+ Add channel").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Provider").select_option("smtp")
    dialog.get_by_label("Name", exact=True).fill("Company SMTP")
    dialog.get_by_label("Host").fill("smtp.acme.test")
    dialog.get_by_label("Port").fill("587")
    dialog.get_by_label("Password").fill("s3cret-pass")
    dialog.get_by_role("button", name="Save").click()
    # SMTP needs a from address: the API's 400 names the field, shown next to it.
    expect(dialog.get_by_text("SMTP needs a from_email setting.")).to_be_visible()
    dialog.get_by_label("From address").fill("hello@acme.test")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved “Company SMTP”.")).to_be_visible()
    row = page.locator("tr", has_text="Company SMTP")
    expect(row.locator(".badge")).to_have_text("default")
    expect(row).to_contain_text("host, password, port")
    assert "s3cret-pass" not in page.content()
    stored = marketer.get("/channels").json()["results"][0]
    assert "credentials" not in stored and stored["credential_keys"] == ["host", "password", "port"]

    # Editing without retyping credentials keeps them.
    row.get_by_role("button", name="Edit").click()
    expect(dialog.get_by_label("Password")).to_have_value("")
    dialog.get_by_label("Name", exact=True).fill("Company SMTP (main)")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved “Company SMTP (main)”.")).to_be_visible()
    assert marketer.get("/channels").json()["results"][0]["credential_keys"] == [
        "host",
        "password",
        "port",
    ]

    # A sandbox email config, made the default, then a test send through it.
    page.get_by_role("button", name="+ Add channel").click()
    dialog.get_by_label("Name", exact=True).fill("Sandbox email")
    dialog.get_by_role("button", name="Save").click()
    sandbox = page.locator("tr", has_text="Sandbox email")
    expect(sandbox.locator(".badge")).to_have_count(0)
    sandbox.get_by_role("button", name="Make default").click()
    expect(sandbox.locator(".badge")).to_have_text("default")
    expect(page.locator("tr", has_text="Company SMTP (main)").locator(".badge")).to_have_count(0)

    sandbox.get_by_role("button", name="Send test").click()
    dialog.get_by_label("To").fill("ada@example.com")
    dialog.get_by_role("button", name="Send test").click()
    result = dialog.locator("[data-test-result]")
    expect(result).to_have_attribute("data-test-result", "sent")
    expect(result).to_contain_text(re.compile(r"provider id sandbox-\d+"))
    docs_screenshot(page, "channels-test-send.png")
