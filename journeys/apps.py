from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "journeys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Node types register themselves on import (journeys/nodes/<type>.py).
        from . import nodes  # noqa: F401
