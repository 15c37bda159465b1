"""The outbound event webhooks app."""

from django.apps import AppConfig


class WebhooksOutConfig(AppConfig):
    name = "webhooks_out"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Opt-outs arrive as customer events: the ingest hook hands us each stored batch.
        from audiences.hooks import connect_events_ingested

        from .services import events_ingested

        connect_events_ingested(events_ingested)
