"""The Celery app: queues, routing, and every periodic task of Waymark in one place."""

import os

from celery import Celery
from celery.schedules import crontab
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("waymark")
app.config_from_object("django.conf:settings", namespace="CELERY")

# Five queues (ARCHITECTURE.md): the engine advances journeys, messages sends, imports
# loads CSV files, default takes the rest. Routing is by module so a task's home says its queue.
# `timers` carries only the timer pump's wake batches (journeys.timers): a worker takes from its
# queues in turn, so waits due now are not queued behind a 100k-enrollment backlog on `engine`.
app.conf.task_queues = [Queue("timers"), Queue("engine"), Queue("messages"), Queue("imports"), Queue("default")]
app.conf.task_routes = {
    "journeys.tasks.*": {"queue": "engine"},
    "channels_app.tasks.*": {"queue": "messages"},
    "audiences.tasks.import_*": {"queue": "imports"},
}

# Every periodic task, declared here and nowhere else. Later issues add their rows.
app.conf.beat_schedule = {}
# Analytics rollups: fold new step/delivery events, recount live positions (analytics.services).
# Every 2 s keeps the canvas fresh; `expires` drops runs a busy worker could not start in time.
app.conf.beat_schedule["analytics-rollups-refresh"] = {
    "task": "analytics.tasks.rollups_refresh_task",
    "schedule": 2.0,
    "options": {"expires": 2.0},
}
# Journey entries (journeys.triggers): recurring segment entries every 15 minutes; date-attribute
# entries (birthdays) once a day, each parked until its local time within the next 26 hours.
app.conf.beat_schedule["journeys-segment-entries"] = {
    "task": "journeys.tasks.segment_entries_task",
    "schedule": 15 * 60.0,
}
app.conf.beat_schedule["journeys-date-attribute-entries"] = {
    "task": "journeys.tasks.date_attribute_entries_task",
    "schedule": crontab(minute=0, hour=0),
}

app.autodiscover_tasks()
