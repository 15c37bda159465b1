"""The journey node: hands the customer off to another active journey of the workspace, whose
own audience, entry window and re-entry policy decide whether they enter.

Config: {"journey_id": int}. Handles: `next` (entered), `failed` (not entered)."""

from __future__ import annotations

from typing import Any, ClassVar

from ..fields import current_journey_id, current_workspace, is_int, unknown_keys
from .base import ConfigError, Next, NodeType, Result, register
from .describe import FAILED, NEXT, fixed, object_schema


@register
class JourneyNode(NodeType):
    type = "journey"
    label = "Enroll in journey"
    category = "action"
    default_config: ClassVar[dict] = {}

    # GET /node-types
    icon = "JY"
    description = "Hand the customer off to another active journey"
    config_schema: ClassVar[dict] = object_schema(
        {"journey_id": {"type": "integer", "title": "Journey"}}, ("journey_id",)
    )
    outputs: ClassVar[list[dict]] = fixed(NEXT, FAILED)

    def validate(
        self, config: dict[str, Any], *, in_journey_settings: dict | None = None
    ) -> list[ConfigError]:
        errors = unknown_keys(config, {"journey_id"})
        journey_id = config.get("journey_id")
        if journey_id is None:
            return [
                *errors,
                ConfigError("journey_id", "Pick the journey to enroll the customer in."),
            ]
        if not is_int(journey_id):
            return [*errors, ConfigError("journey_id", "Must be a journey id (integer).")]
        return errors + self.link_errors(config)

    def link_errors(self, config: dict[str, Any]) -> list[ConfigError]:
        journey_id = config.get("journey_id")
        if not is_int(journey_id):
            return []
        if journey_id == current_journey_id():
            return [ConfigError("journey_id", "A journey cannot enroll customers in itself.")]
        workspace = current_workspace()
        if workspace is None:
            return []
        from ..models import Journey

        if not Journey.objects.for_workspace(workspace).filter(pk=journey_id).exists():
            return [
                ConfigError("journey_id", f"No journey with id {journey_id} in this workspace.")
            ]
        return []

    def execute(self, ctx) -> Result:
        from ..enrollments import enrollments_create  # enrollments imports the engine
        from ..models import Journey

        journey_id = ctx.config.get("journey_id")
        target = (
            Journey.objects.for_workspace(ctx.workspace_id)
            .filter(pk=journey_id)
            .exclude(pk=ctx.journey_id)
            .first()
            if is_int(journey_id)
            else None
        )
        if target is None or target.status != Journey.Status.ACTIVE:
            ctx.note(journey_id=journey_id, entered=False)
            return Next("failed")
        if ctx.simulate:  # the simulation sends nothing and enrolls nobody
            ctx.note(journey_id=journey_id, journey_name=target.name)
            return Next("next")
        # The trigger event travels along, so the next journey's Liquid can still read it.
        contexts = {ctx.customer_id: {"event": ctx.event}} if ctx.event else None
        result = enrollments_create(
            journey=target, customer_ids=[ctx.customer_id], contexts=contexts
        )
        ctx.note(journey_id=journey_id, entered=result.enrolled == 1)
        return Next("next" if result.enrolled else "failed")
