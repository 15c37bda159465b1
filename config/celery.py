"""The Celery app: queues, routing, and every periodic task of Waymark in one place."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("waymark")
app.config_from_object("django.conf:settings", namespace="CELERY")

# Four queues (ARCHITECTURE.md): the engine advances journeys, messages sends, imports
# loads CSV files, default takes the rest. Routing is by module so a task's home says its queue.
app.conf.task_queues = [Queue("engine"), Queue("messages"), Queue("imports"), Queue("default")]
app.conf.task_routes = {
    "journeys.tasks.*": {"queue": "engine"},
    "channels_app.tasks.*": {"queue": "messages"},
    "audiences.tasks.import_*": {"queue": "imports"},
}

# Every periodic task, declared here and nowhere else. Later issues add their rows.
app.conf.beat_schedule = {}

app.autodiscover_tasks()
