"""Event webhooks in Settings end to end: an owner adds one for a local receiver (the API's
refusal of an empty event list is shown in the form), sees the signing secret once, sends a test event that arrives
signed, pauses and resumes it, sets how many events one POST may carry, and reads its delivery
log."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_settings_page import open_settings, owned_workspace  # noqa: F401 (fixture)
from webhooks_out.models import EVENT_TYPE_DESCRIPTIONS, EventWebhook

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("owned_workspace")]


@pytest.fixture
def receiver():
    got: list[tuple[dict, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            got.append((dict(self.headers), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.got = got
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/waymark"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_owner_adds_tests_pauses_and_reads_an_event_webhook(live_server_url, browser_page: Page, receiver):
    page = browser_page
    open_settings(page, live_server_url)
    panel = page.get_by_role("region", name="Event webhooks")
    expect(panel.get_by_text("No event webhooks yet")).to_be_visible()

    form = page.get_by_role("form", name="New event webhook")
    # No event picked: the API's refusal is shown under the events, nothing is stored.
    form.get_by_label("URL").fill(receiver.url)
    form.get_by_role("button", name="Add webhook").click()
    expect(form.locator(".field-error")).to_be_visible()
    assert not EventWebhook.objects.unscoped().exists()

    # The events offered are the server's list, each saying what it means.
    expect(form.get_by_role("checkbox")).to_have_count(len(EVENT_TYPE_DESCRIPTIONS))
    expect(form.locator("label", has_text="goal.converted")).to_have_attribute(
        "title", EVENT_TYPE_DESCRIPTIONS["goal.converted"]
    )
    form.get_by_label("goal.converted").check()
    form.get_by_label("message.clicked").check()
    expect(form.get_by_label("Events per POST")).to_have_value("1")  # one event per POST unless asked
    form.get_by_label("Events per POST").fill("25")
    form.get_by_role("button", name="Add webhook").click()
    secret_note = panel.get_by_role("alert")
    expect(secret_note).to_contain_text("Signing secret (shown once")
    secret = secret_note.locator("code").inner_text()
    row = panel.locator("tr", has_text=receiver.url)
    expect(row).to_contain_text("goal.converted, message.clicked")
    expect(row.locator(".badge")).to_have_text("on")
    batching = row.get_by_role("spinbutton", name="Events per POST")
    expect(batching).to_have_value("25")
    assert EventWebhook.objects.unscoped().get().batch_size == 25
    batching.fill("100")
    row.get_by_role("button", name="Save").click()
    expect(panel.get_by_role("status")).to_contain_text("up to 100 events per POST")
    expect(row.get_by_role("button", name="Save")).to_have_count(0)
    assert EventWebhook.objects.unscoped().get().batch_size == 100

    row.get_by_role("button", name="Send test").click()
    deadline = time.monotonic() + 30
    while not receiver.got and time.monotonic() < deadline:
        time.sleep(0.2)
    headers, body = receiver.got[0]
    assert json.loads(body)["type"] == "webhook.test"
    stamp, v1 = (part.split("=", 1)[1] for part in headers["Waymark-Signature"].split(","))
    assert v1 == hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()

    row.get_by_role("button", name="Pause").click()
    expect(row.locator(".badge")).to_have_text("paused")
    assert EventWebhook.objects.unscoped().get().enabled is False
    row.get_by_role("button", name="Resume").click()
    expect(row.locator(".badge")).to_have_text("on")

    row.get_by_role("button", name="Deliveries").click()
    log = page.get_by_role("dialog")
    expect(log.get_by_role("table", name="Deliveries")).to_contain_text("webhook.test")
    expect(log.get_by_role("table", name="Deliveries")).to_contain_text("delivered")
