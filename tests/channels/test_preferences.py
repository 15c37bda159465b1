"""The preference page and one-click unsubscribe, reached from a message's signed links: RFC 8058
POST works without cookies or CSRF token, GETs change nothing, the page lists topics and channels
in the customer's language under the workspace's name, saving raises `customer.unsubscribed`
events, and `{{ unsubscribe_url }}` / `{{ preferences_url }}` render as working links."""

from __future__ import annotations

import email
import html
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client

from audiences.models import Customer, Event
from audiences.topics import Topic
from channels_app import tracking
from channels_app.models import Message
from channels_app.services import MessageStep, channel_create, message_prepare, messages_send

from .conftest import make_customer

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _topics(workspace):
    for key, name, default in (("news", "Newsletter", "subscribed"), ("deals", "Deals", "unsubscribed")):
        Topic.objects.for_workspace(workspace).create(workspace=workspace, key=key, name=name, default=default)


def _emailed(workspace, topic="", locale="", **customer):
    channel_create(workspace=workspace, channel="email", provider="sandbox", name="Mail")
    person = make_customer(workspace, "eve", email="eve@x.test", locale=locale, **customer)
    message = Message.objects.for_workspace(workspace).create(
        workspace=workspace, customer=person, channel="email", to="eve@x.test", status="sent", topic=topic
    )
    return person, message


def _events(workspace):
    return sorted(
        (e.name, e.properties.get("topic", ""), e.properties.get("channel", ""), e.properties["source"])
        for e in Event.objects.for_workspace(workspace)
    )


def test_one_click_post_needs_no_cookie_or_csrf_token_and_gets_change_nothing(
    workspace, django_capture_on_commit_callbacks
):
    _topics(workspace)
    person, message = _emailed(workspace, topic="news")
    url = _path(tracking.unsubscribe_url(message.pk))
    browser = Client(enforce_csrf_checks=True)  # no session, no CSRF cookie, as a mail client
    for _ in range(3):
        assert browser.get(url).status_code == 200
        assert browser.get(_path(tracking.preferences_url(message.pk))).status_code == 200
    person.refresh_from_db()
    assert (person.subscriptions, person.unsubscribed) == ({}, [])
    assert not Event.objects.for_workspace(workspace).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and "unsubscribed" in response.content.decode()
    person.refresh_from_db()
    # The message was about a topic: out of that topic, the channel stays open for others.
    assert (person.subscriptions, person.unsubscribed) == ({"news": False}, [])
    assert _events(workspace) == [("customer.unsubscribed", "news", "email", "one_click")]


def test_one_click_without_a_topic_leaves_the_channel(workspace, django_capture_on_commit_callbacks):
    person, message = _emailed(workspace)
    with django_capture_on_commit_callbacks(execute=True):
        assert Client(enforce_csrf_checks=True).post(_path(tracking.unsubscribe_url(message.pk))).status_code == 200
    person.refresh_from_db()
    assert person.unsubscribed == ["email"]
    assert _events(workspace) == [("customer.unsubscribed", "", "email", "one_click")]


def _form(page: str) -> tuple[str, dict[str, list[str]], dict[str, bool]]:
    """The preference form's action, hidden fields and checkboxes (value → checked)."""
    form = re.search(r'<form id="preferences" method="post" action="([^"]+)">(.*?)</form>', page, re.S)
    hidden: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form.group(2)):
        hidden.setdefault(name, []).append(value)
    boxes = {
        f"{name}:{value}": bool(checked)
        for name, value, checked in re.findall(
            r'<input type="checkbox" id="[^"]+" name="(\w+)" value="([^"]*)"( checked)?', form.group(2)
        )
    }
    return html.unescape(form.group(1)), hidden, boxes


@pytest.mark.parametrize(
    "locale,language,heading,save",
    [
        ("", "en", "Acme Shop: your preferences", "Save preferences"),
        ("ko-KR", "ko", "Acme Shop: 수신 설정", "설정 저장"),
        ("es-MX", "es", "Acme Shop: tus preferencias", "Guardar preferencias"),
    ],
)
def test_the_page_lists_topics_and_channels_in_the_customers_language(
    workspace, locale, language, heading, save
):
    workspace.name = "Acme Shop"
    workspace.save(update_fields=["name"])
    _topics(workspace)
    person, message = _emailed(workspace, locale=locale, unsubscribed=["sms"], subscriptions={"deals": True})
    page = Client().get(_path(tracking.preferences_url(message.pk)))
    body = page.content.decode()
    assert page.status_code == 200 and f'<html lang="{language}">' in body
    assert f"<h1>{heading}</h1>" in body and save in body and "<script" not in body
    action, hidden, boxes = _form(body)
    assert urlsplit(action).path == "/api/v1/hooks/preferences"
    assert tracking.preferences_token_read(parse_qs(urlsplit(action).query)["t"][0]) == message.pk
    assert hidden == {"topics": ["deals", "news"], "channels": ["email", "sms"]}
    # Each choice as it stands: news by default, deals chosen, email open, sms left.
    assert boxes == {"topic:deals": True, "topic:news": True, "channel:email": True, "channel:sms": False}
    for n in range(1, 3):  # every checkbox has its label
        assert f'<label for="topic-{n}">' in body and f'id="topic-{n}"' in body


def test_the_page_offers_the_channel_the_message_came_by_even_when_none_is_set_up(workspace):
    person = make_customer(workspace, "eve", email="eve@x.test")
    message = Message.objects.for_workspace(workspace).create(
        workspace=workspace, customer=person, channel="email", to="eve@x.test", status="sent"
    )
    _, hidden, boxes = _form(Client().get(_path(tracking.preferences_url(message.pk))).content.decode())
    assert hidden["channels"] == ["email"] and boxes["channel:email"] is True


def test_saving_the_page_changes_what_was_shown_and_raises_events(workspace, django_capture_on_commit_callbacks):
    _topics(workspace)
    person, message = _emailed(workspace, unsubscribed=["sms"])
    url = _path(tracking.preferences_url(message.pk))
    action, hidden, _ = _form(Client().get(url).content.decode())
    # Untick news and email, tick deals and sms; a name the page never showed is ignored.
    form = {**hidden, "topic": ["deals", "smuggled"], "channel": ["sms", "push"]}
    with django_capture_on_commit_callbacks(execute=True):
        saved = Client(enforce_csrf_checks=True).post(  # as a browser posts a form without enctype
            action, urlencode(form, doseq=True), content_type="application/x-www-form-urlencoded"
        )
    assert saved.status_code == 200 and 'role="status"' in saved.content.decode()
    person.refresh_from_db()
    assert person.subscriptions == {"news": False, "deals": True}
    assert person.unsubscribed == ["email"]
    assert _events(workspace) == [
        ("customer.unsubscribed", "", "email", "preferences"),
        ("customer.unsubscribed", "news", "", "preferences"),
    ]


def test_forged_or_foreign_tokens_are_404(workspace, other_workspace):
    _, theirs = _emailed(other_workspace)
    token = tracking.preferences_url(theirs.pk).split("t=", 1)[1]
    assert Client().get(f"/api/v1/hooks/preferences?t={token}x").status_code == 404
    forged = Client().post("/api/v1/hooks/preferences?t=forged", "topics=x", content_type="application/x-www-form-urlencoded")
    assert forged.status_code == 404
    # An unsubscribe token is not a preferences token (each link is signed for its own use).
    unsubscribe = tracking.unsubscribe_url(theirs.pk).split("t=", 1)[1]
    assert Client().get(f"/api/v1/hooks/preferences?t={unsubscribe}").status_code == 404


def test_liquid_links_render_for_the_message_and_open_its_pages(workspace):
    channel_create(workspace=workspace, channel="email", provider="sandbox", name="Mail")
    person = make_customer(workspace, email="eve@x.test")
    outcome = message_prepare(step=MessageStep(
        workspace=workspace, customer=person, node_id="m",
        config={"channel": "email", "content": {
            "subject": "News", "text": "Leave: {{ unsubscribe_url }} Choose: {{ preferences_url }}"}},
    ))
    message = outcome.message
    # The links are timestamp-signed when rendered: read what they say, then follow them.
    leave, choose = re.fullmatch(r"Leave: (\S+) Choose: (\S+)", message.content["text"]).groups()
    assert tracking.unsubscribe_token_read(urlsplit(leave).query.removeprefix("t=")) == message.pk
    assert tracking.preferences_token_read(urlsplit(choose).query.removeprefix("t=")) == message.pk
    assert Client().get(_path(choose)).status_code == 200
    Client().post(_path(leave))
    assert Customer.objects.for_workspace(workspace).get(pk=person.pk).unsubscribed == ["email"]


def test_a_real_smtp_server_receives_the_list_unsubscribe_headers(workspace, smtp_server, settings):
    settings.PUBLIC_BASE_URL = "https://mail.acme.test"
    channel_create(
        workspace=workspace, channel="email", provider="smtp", name="Mail",
        credentials={"host": "127.0.0.1", "port": smtp_server.port}, settings={"from_email": "hi@acme.test"},
    )
    person = make_customer(workspace, email="eve@x.test")
    outcome = message_prepare(step=MessageStep(
        workspace=workspace, customer=person, node_id="m",
        config={"channel": "email", "content": {"subject": "Sale", "html": '<a href="{{ preferences_url }}">prefs</a>'}},
    ))
    messages_send(message_ids=[outcome.message.pk], workspace_id=workspace.pk)
    parsed = email.message_from_bytes(smtp_server.envelopes[0].content)
    header = parsed["List-Unsubscribe"]
    assert header.startswith("<https://mail.acme.test/api/v1/hooks/unsubscribe?t=")
    # The token is timestamp-signed at send time, so compare what it says, not its bytes.
    token = header.split("?t=", 1)[1].rstrip(">")
    assert tracking.unsubscribe_token_read(token) == outcome.message.pk
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
