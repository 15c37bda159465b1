"""The outbound event webhooks app."""

from django.apps import AppConfig


class WebhooksOutConfig(AppConfig):
    name = "webhooks_out"
    default_auto_field = "django.db.models.BigAutoField"
