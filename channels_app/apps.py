from django.apps import AppConfig


class ChannelsAppConfig(AppConfig):
    name = "channels_app"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The message and webhook node types plug into the journeys node registry from here,
        # so the engine never imports channels.
        from . import nodes  # noqa: F401
