"""Web Push on a real site in headless Chromium: a page of another origin loads
/sdk/waymark-push.js, its own /waymark-sw.js imports /sdk/waymark-sw.js, a click subscribes and
the subscription becomes the user's `web` push token; a message to that user is then encrypted
for that subscription and reaches a local RFC 8030 push service, and the same payload delivered
to the service worker shows the notification.

Chromium's pushManager.subscribe() registers with Google's push service (FCM), which this machine
cannot reach; the page's subscribe() therefore answers a subscription whose endpoint is the local
push service and whose keys the test holds, and records the applicationServerKey it was given.
Everything else (the SDK, the service worker, CORS, the API, the encryption) is real."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.test import Client

from audiences.models import Customer
from channels_app.models import ChannelConfig
from channels_app.services import channel_test_send
from tests.channels.test_webpush import Browser, _b64u_decode
from tests.conftest import make_client
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

from .test_browser_tracking import publishable
from .test_web_inbox import secret_of, user_hash


def _serve(handler, **state):
    """A real HTTP server on 127.0.0.1 for the fixture's lifetime, `state` as its attributes."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    for name, value in state.items():
        setattr(server, name, value)
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def site():
    """A web site on its own origin serving `site.files[path] = (content_type, body)`."""
    files: dict[str, tuple[str, str]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            content_type, body = files.get(self.path.split("?")[0], ("text/plain", "not found"))
            self.send_response(200 if body != "not found" else 404)
            self.send_header("Content-Type", content_type)
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    yield from _serve(Handler, files=files)


@pytest.fixture
def push_service():
    """A local RFC 8030 push service: records each POST to /push/<id> and answers 201."""
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            self.send_response(201)
            self.send_header("Location", f"{self.path}/m/{len(received)}")
            self.end_headers()

        def log_message(self, *args):
            pass

    yield from _serve(Handler, received=received)


def _page(waymark: str, key: str, user_id: str, hash_: str) -> str:
    return f"""<!doctype html><html><head><title>Shop</title>
<script src="{waymark}/sdk/waymark-push.js" data-key="{key}" data-user-id="{user_id}"
  data-user-hash="{hash_}"></script></head><body><h1>Shop</h1>
<button id="notify">Get notifications</button><output id="result"></output>
<script>
document.getElementById("notify").addEventListener("click", function () {{
  WaymarkPush.subscribe().then(function (r) {{ document.getElementById("result").textContent = r.status; }},
    function (e) {{ document.getElementById("result").textContent = "error: " + e.message; }});
}});
</script></body></html>"""


def _fake_subscribe(browser: Browser) -> str:
    """The init script standing in for FCM's registration (see the module docstring)."""
    subscription = json.loads(browser.token())
    return f"""
PushManager.prototype.getSubscription = function () {{ return Promise.resolve(null); }};
PushManager.prototype.subscribe = function (options) {{
  window.__applicationServerKey = Array.from(new Uint8Array(options.applicationServerKey));
  var json = {json.dumps(subscription)};
  return Promise.resolve({{ endpoint: json.endpoint, options: options, toJSON: function () {{ return json; }} }});
}};
"""


@pytest.mark.django_db(transaction=True)
def test_a_click_subscribes_the_browser_and_a_push_reaches_it_and_shows(
    tracking_server, workspace, site, push_service, monkeypatch
):
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls beside Playwright's loop
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (set CHROMIUM_PATH)")
    owner = make_client(workspace)
    key = publishable(owner, [site.url])
    secret = secret_of(owner)
    created = owner.post(
        "/api/v1/channels",
        {"channel": "push", "provider": "webpush", "name": "Browsers", "is_default": True,
         "credentials": {"vapid_subject": "mailto:ops@acme.test"}},
        format="json",
    )
    assert created.status_code == 201, created.content
    config = ChannelConfig.objects.unscoped().get(pk=created.json()["id"])
    vapid_public = _b64u_decode(config.settings["vapid_public_key"])
    browser_keys = Browser(f"{push_service.url}/push/sub-1")

    site.files["/"] = ("text/html", _page(tracking_server, key, "ann", user_hash(secret, "ann")))
    site.files["/waymark-sw.js"] = (
        "text/javascript", f'importScripts("{tracking_server}/sdk/waymark-sw.js");'
    )
    site.files["/wrong"] = ("text/html", _page(tracking_server, key, "ann", "0" * 64))

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = chromium.new_context()
            context.grant_permissions(["notifications"], origin=site.url)
            context.add_init_script(_fake_subscribe(browser_keys))
            page = context.new_page()
            page.set_default_timeout(20_000)

            # A hash that is not the user's registers nothing.
            page.goto(f"{site.url}/wrong")
            page.get_by_role("button", name="Get notifications").click()
            expect(page.locator("#result")).to_contain_text("answered 403")
            assert not Customer.objects.for_workspace(workspace).filter(external_id="ann").exists()

            page.goto(f"{site.url}/")
            page.get_by_role("button", name="Get notifications").click()
            expect(page.locator("#result")).to_have_text("subscribed")
            assert bytes(page.evaluate("window.__applicationServerKey")) == vapid_public
            ann = Customer.objects.for_workspace(workspace).get(external_id="ann")
            [token] = ann.push_tokens
            assert token["platform"] == "web" and token["valid"] is True
            assert json.loads(token["token"]) == json.loads(browser_keys.token())
            # The service worker is the site's own file, running Waymark's code.
            assert page.evaluate(
                "navigator.serviceWorker.ready.then(r => r.active.scriptURL)"
            ) == f"{site.url}/waymark-sw.js"

            # A push to that token is encrypted for this browser and reaches its push service.
            sent = channel_test_send(config=config, to=token["token"], content={
                "title": "Your cart", "body": "A lamp is waiting", "url": f"{site.url}/cart",
            })
            assert sent.status == "sent", sent.error_detail
            payload = browser_keys.decrypt(push_service.received[0])
            assert payload["title"] == "Your cart" and payload["url"] == f"{site.url}/cart"

            # That payload, delivered to the service worker, is shown as a notification.
            cdp = context.new_cdp_session(page)
            registrations = []
            cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
            cdp.send("ServiceWorker.enable")
            deadline = time.monotonic() + 10
            while not registrations and time.monotonic() < deadline:
                page.wait_for_timeout(100)
            registration_id = registrations[0]["registrationId"]
            cdp.send("ServiceWorker.deliverPushMessage", {
                "origin": site.url, "registrationId": registration_id, "data": json.dumps(payload),
            })
            shown = []
            while not shown and time.monotonic() < deadline + 10:
                page.wait_for_timeout(200)
                shown = page.evaluate(
                    "navigator.serviceWorker.ready.then(r => r.getNotifications())"
                    ".then(ns => ns.map(n => [n.title, n.body, n.data.url]))"
                )
            assert shown == [["Your cart", "A lamp is waiting", f"{site.url}/cart"]]
        finally:
            chromium.close()


@pytest.mark.django_db
def test_without_a_web_push_channel_the_settings_say_so(workspace):
    owner = make_client(workspace)
    key = publishable(owner, ["https://shop.test"])
    answer = Client().get("/v1/push/settings", HTTP_AUTHORIZATION=_basic(key))
    assert answer.status_code == 404
    assert "No Web Push channel" in answer.json()["message"]


@pytest.mark.django_db
def test_a_malformed_subscription_is_refused_naming_the_field(workspace):
    owner = make_client(workspace)
    key = publishable(owner, ["https://shop.test"])
    secret = secret_of(owner)
    answer = Client().post(
        "/v1/push/subscriptions",
        {"userId": "ann", "userHash": user_hash(secret, "ann"),
         "subscription": {"endpoint": "https://push.test/x", "keys": {"p256dh": "short", "auth": "x"}}},
        content_type="application/json",
        HTTP_AUTHORIZATION=_basic(key),
    )
    assert answer.status_code == 400
    assert answer.json()["message"].startswith("subscription: keys: p256dh: Must be the browser's")
    assert not Customer.objects.for_workspace(workspace).exists()


def _basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()
