"""The unsubscribe link: a GET (a person, or a link scanner) only shows the preference page with an
unsubscribe button; a POST unsubscribes, from that button or as RFC 8058 one-click from the mail
client."""

from __future__ import annotations

import re

import pytest

from channels_app import tracking
from channels_app.models import Message

from .conftest import make_customer

pytestmark = pytest.mark.django_db


def _emailed(workspace):
    customer = make_customer(workspace, external_id="eve", email="e@x.test")
    message = Message.objects.for_workspace(workspace).create(
        workspace=workspace, customer=customer, channel="email", to="e@x.test", status="sent"
    )
    return customer, tracking.unsubscribe_url(message.pk).replace("http://testserver", "")


def test_get_shows_an_unsubscribe_button_and_unsubscribes_nobody(client, workspace):
    customer, url = _emailed(workspace)
    for _ in range(3):  # a scanner may follow the link more than once
        page = client.get(url)
        assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    customer.refresh_from_db()
    assert customer.unsubscribed == []
    [action] = re.findall(r'<form id="unsubscribe" method="post" action="([^"]+)"', page.content.decode())
    assert action.replace("&amp;", "&") == url
    confirmed = client.post(action.replace("&amp;", "&"))
    assert confirmed.status_code == 200
    customer.refresh_from_db()
    assert customer.unsubscribed == ["email"]


def test_one_click_post_unsubscribes_at_once(client, workspace):
    customer, url = _emailed(workspace)
    response = client.post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.unsubscribed == ["email"]


def test_a_forged_token_is_a_404_either_way(client, workspace):
    _emailed(workspace)
    assert client.get("/api/v1/hooks/unsubscribe?t=forged").status_code == 404
    assert client.post("/api/v1/hooks/unsubscribe?t=forged").status_code == 404
