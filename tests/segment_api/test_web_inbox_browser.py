"""The inbox script on a real site: a page of another origin (allowed by the publishable key)
loads /sdk/waymark-inbox.js, and headless Chromium shows the bell, opens it and reads a message
through CORS calls to the Waymark server."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from audiences.models import Customer
from channels_app.models import Message
from tests.conftest import make_client
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

from .test_browser_tracking import publishable
from .test_web_inbox import secret_of, user_hash


@pytest.fixture
def site():
    """A plain web site on its own origin: `site.pages[path] = html` is what it serves."""
    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path.split("?")[0])
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write((body or "not found").encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.pages = pages
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def readme_inbox() -> tuple[str, str]:
    """The README's "Show in-app messages on your site" snippets, as a reader copies them: the
    server's hash (Python) and the page's script tag (HTML)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Show in-app messages on your site", 1)[1].split("\n## ", 1)[0]
    (python,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    (html,) = [b for b in re.findall(r"```html\n(.*?)```", section, flags=re.S) if "waymark-inbox.js" in b]
    return python, html


def readme_user_hash(identity_secret: str, user_id: str) -> str:
    python, _ = readme_inbox()
    scope = {"identity_secret": identity_secret, "user_id": user_id}
    exec(python, scope)  # the README's lines, given the two names they use
    return scope["user_hash"]


def page_with_inbox(waymark: str, key: str, user_id: str, hash_: str) -> str:
    """A site's page with the README's script tag, its placeholders filled in."""
    _, tag = readme_inbox()
    for placeholder in ("https://waymark.example.com", "wm_pk_…", 'data-user-id="user-42"', "{{ user_hash }}"):
        assert placeholder in tag, placeholder
    tag = (tag.replace("https://waymark.example.com", waymark).replace("wm_pk_…", key)
           .replace('data-user-id="user-42"', f'data-user-id="{user_id}"').replace("{{ user_hash }}", hash_))
    return f"""<!doctype html><html><head><title>Shop</title></head><body>
<header><h1>Shop</h1>
{tag}</header>
</body></html>"""


@pytest.mark.django_db(transaction=True)
def test_the_bell_shows_the_unread_count_and_reading_a_message_lowers_it(
    tracking_server, workspace, site, monkeypatch
):
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls beside Playwright's loop
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (set CHROMIUM_PATH)")
    owner = make_client(workspace)
    key = publishable(owner, [site.url])
    secret = secret_of(owner)
    ann = Customer.objects.for_workspace(workspace).create(workspace=workspace, external_id="ann")

    def in_app(title: str, **content) -> Message:
        return Message.objects.for_workspace(workspace).create(
            workspace=workspace,
            customer=ann,
            channel="in_app",
            content={"title": title, "body": f"About {title}", **content},
            status="delivered",
        )

    in_app("Welcome")
    sale = in_app("Summer sale", link=f"{site.url}/sale")
    assert readme_user_hash(secret, "ann") == user_hash(secret, "ann")
    site.pages["/"] = page_with_inbox(tracking_server, key, "ann", readme_user_hash(secret, "ann"))
    site.pages["/sale"] = "<!doctype html><title>Sale</title><h1>Sale</h1>"
    site.pages["/wrong-hash"] = page_with_inbox(tracking_server, key, "ann", "0" * 64)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.set_default_timeout(20_000)
            page.goto(f"{site.url}/")
            bell = page.locator("button.bell")
            expect(bell).to_have_accessible_name("Notifications, 2 unread")
            expect(bell).to_have_attribute("aria-expanded", "false")
            expect(page.locator(".badge")).to_have_text("2")

            bell.focus()
            page.keyboard.press("Enter")
            expect(bell).to_have_attribute("aria-expanded", "true")
            newest = page.get_by_role("button", name="Unread: Summer sale")
            expect(newest).to_be_focused()
            expect(page.get_by_role("region", name="Notifications")).to_contain_text(
                "About Welcome"
            )

            with page.expect_popup() as popup:
                page.keyboard.press("Enter")
            assert popup.value.url == f"{site.url}/sale"
            popup.value.close()
            expect(bell).to_have_accessible_name("Notifications, 1 unread")
            expect(page.locator(".badge")).to_have_text("1")
            sale.refresh_from_db()
            assert sale.read_at is not None

            page.keyboard.press("Escape")
            expect(bell).to_have_attribute("aria-expanded", "false")
            expect(page.get_by_role("region", name="Notifications")).to_be_hidden()
            expect(bell).to_be_focused()

            # The same page with a hash that is not the user's shows nothing of the inbox.
            page.goto(f"{site.url}/wrong-hash")
            expect(bell).to_have_accessible_name("Notifications, 0 unread")
            bell.click()
            expect(page.get_by_role("region", name="Notifications")).to_contain_text(
                "Messages could not be loaded."
            )
            expect(page.get_by_text("Summer sale")).to_have_count(0)
        finally:
            browser.close()
