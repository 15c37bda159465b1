"""The signed links a person follows from a message: the unsubscribe link (GET shows the
preference page, POST unsubscribes at once — RFC 8058 one-click included) and the preference
page (GET shows topics and channels, POST saves them). Server-rendered, no JavaScript, in the
customer's language; no API key, no session, no CSRF token: the signed link is the credential."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers

from workspaces.errors import json_error
from workspaces.parsers import StrictFormParser

from . import services, tracking
from .callbacks import HookView, _message
from .models import Message

PAGE_LANGUAGES = ("en", "ko", "es")  # channels_app/locale holds the others' translations
CHANNEL_LABELS = {
    "email": gettext_lazy("Email"),
    "sms": gettext_lazy("Text messages (SMS)"),
    "push": gettext_lazy("Push notifications"),
    "whatsapp": "WhatsApp",
    "rcs": gettext_lazy("RCS messages"),
    "telegram": "Telegram",
    "kakao_alimtalk": "KakaoTalk Alimtalk",
    "kakao_friendtalk": "KakaoTalk Friendtalk",
    "in_app": gettext_lazy("In-app messages"),
}
UNSUBSCRIBED_NOTICE = gettext_lazy("You are unsubscribed.")
SAVED_NOTICE = gettext_lazy("Your preferences are saved.")
TOKEN = OpenApiParameter("t", str, description="The signed token of the link in the message.")
PAGE = {(200, "text/html"): str, 404: None}
PreferencesForm = inline_serializer(
    name="PreferencesForm",
    fields={
        "topics": serializers.ListField(child=serializers.CharField(), help_text="Topic keys the page showed."),
        "topic": serializers.ListField(child=serializers.CharField(), help_text="Those ticked (subscribed)."),
        "channels": serializers.ListField(child=serializers.CharField(), help_text="Channels the page showed."),
        "channel": serializers.ListField(child=serializers.CharField(), help_text="Those ticked (allowed)."),
    },
)


def _language(locale: str) -> str:
    language = (locale or "").replace("_", "-").split("-")[0].lower()
    return language if language in PAGE_LANGUAGES else "en"


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _page(message: Message, *, notice: str = "", unsubscribe_action: str = "", prefs=None) -> HttpResponse:
    prefs = prefs or services.preferences_for(message=message)
    language = _language(prefs.customer.locale)
    with translation.override(language):
        what = ""
        if unsubscribe_action:
            topic = next((t for t in prefs.topics if t.key == message.topic), None)
            what = topic.label if topic else str(CHANNEL_LABELS.get(message.channel, message.channel))
        html = render_to_string(
            "channels_app/preferences.html",
            {
                "language": language,
                "workspace_name": prefs.workspace.name,
                "notice": notice,
                "unsubscribe_action": unsubscribe_action,
                "unsubscribe_what": what,
                "preferences_action": _path(tracking.preferences_url(message.pk)),
                "topics": prefs.topics,
                "channels": [
                    {"key": c.key, "label": CHANNEL_LABELS.get(c.key, c.key), "on": c.on} for c in prefs.channels
                ],
            },
        )
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"  # the link's token must not leak to other sites
    response["Content-Language"] = language
    return response


def _notice(message: Message, text) -> str:
    customer_locale = message.customer.locale if message.customer_id else ""
    with translation.override(_language(customer_locale)):
        return str(text)


def _linked(token_read, request) -> Message | None:
    message = _message(token_read(request.query_params.get("t", "")))
    return message if message is not None and message.customer_id else None


class UnsubscribeHook(HookView):
    """GET only shows the preference page with an unsubscribe button: link scanners and mail
    previews follow links and must not unsubscribe anyone. POST unsubscribes at once, from that
    button or as RFC 8058 one-click from the mail client (`List-Unsubscribe=One-Click`)."""

    @extend_schema(responses=PAGE, parameters=[TOKEN])
    def get(self, request):
        message = _linked(tracking.unsubscribe_token_read, request)
        if message is None:
            return json_error(404, "not_found", "Not found.")
        return _page(message, unsubscribe_action=request.get_full_path())

    @extend_schema(request=None, responses=PAGE, parameters=[TOKEN])
    def post(self, request):
        message = _linked(tracking.unsubscribe_token_read, request)
        if message is None:
            return json_error(404, "not_found", "Not found.")
        services.customer_unsubscribe(message=message)
        return _page(message, notice=_notice(message, UNSUBSCRIBED_NOTICE))


class PreferencesHook(HookView):
    """GET shows the customer's topics and channels, each switchable, and changes nothing; POST
    (the page's form) saves every choice the page showed."""

    parser_classes = [StrictFormParser]

    @extend_schema(responses=PAGE, parameters=[TOKEN])
    def get(self, request):
        message = _linked(tracking.preferences_token_read, request)
        if message is None:
            return json_error(404, "not_found", "Not found.")
        return _page(message)

    @extend_schema(request={"application/x-www-form-urlencoded": PreferencesForm}, responses=PAGE, parameters=[TOKEN])
    def post(self, request):
        message = _linked(tracking.preferences_token_read, request)
        if message is None:
            return json_error(404, "not_found", "Not found.")
        form = request.data
        prefs = services.preferences_save(
            message=message,
            topics_shown=form.getlist("topics")[:500],
            topics_on=set(form.getlist("topic")),
            channels_shown=form.getlist("channels")[:50],
            channels_on=set(form.getlist("channel")),
        )
        if prefs is None:
            return json_error(404, "not_found", "Not found.")
        return _page(message, notice=_notice(message, SAVED_NOTICE), prefs=prefs)
