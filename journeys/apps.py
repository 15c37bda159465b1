from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "journeys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Node types register themselves on import (journeys/nodes/<type>.py).
        # The engine listens to ingest (events, profile changes) through the audiences hooks.
        from . import (
            nodes,  # noqa: F401
            triggers,
        )

        triggers.connect()
