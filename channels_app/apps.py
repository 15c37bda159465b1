from django.apps import AppConfig


class ChannelsAppConfig(AppConfig):
    name = "channels_app"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The message and webhook node types plug into the journeys node registry from here,
        # so the engine never imports channels.
        from audiences import hooks

        from . import nodes  # noqa: F401
        from .services import wallet_passes

        # A customer's change may change what their wallet passes show.
        hooks.connect_customers_changed(wallet_passes.on_customers_changed)
