"""The journey node: hands the customer off to another active journey of the workspace, whose
own audience, entry window and re-entry policy decide whether they enter.

Config: {"journey_id": int}. Handles: `next` (entered), `failed` (not entered: the step's
`reason` says why, `hand_off_loop` when the run's own hand-offs came through the target)."""

from __future__ import annotations

from typing import Any, ClassVar

from ..fields import current_journey_id, current_workspace, is_int, unknown_keys
from .base import ConfigError, Next, NodeType, Result, register
from .describe import FAILED, NEXT, fixed, object_schema

# The key of a handed-off run's context naming the run that handed it off.
HANDED_OFF_FROM = "handed_off_from"
# How far a ring is looked for: a workspace's chains of hand-offs are short; this bounds the reads.
MAX_HANDOFF_JOURNEYS = 200
# The key of a handed-off run's context listing the journeys its hand-offs came through, oldest
# first: a hand-off back into one of them is a ring that validation could not see (two journeys
# published at the same moment, each checked against the other's previous version).
HANDOFF_CHAIN = "handoff_chain"
# Hand-offs in a row a customer may take before the next is refused: real chains (welcome →
# nurture → win-back) are a few journeys long; a longer one is almost surely a ring in disguise.
MAX_HANDOFF_DEPTH = 10
# The `failed` handle's reason when a hand-off would go round a ring or too deep.
HAND_OFF_LOOP = "hand_off_loop"


def handoff_targets(graph: Any) -> list[tuple[str, int]]:
    """(node id, target journey id) of each `journey` node in a graph."""
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    return [
        (n.get("id"), n["config"]["journey_id"])
        for n in nodes or []
        if isinstance(n, dict)
        and n.get("type") == "journey"
        and isinstance(n.get("config"), dict)
        and is_int(n["config"].get("journey_id"))
    ]


def handoff_path(workspace, *, start: int, back_to: int) -> list[tuple[str, str]] | None:
    """The journeys from `start` along hand-offs until one hands back to `back_to`, as (journey
    name, node id that hands on) pairs, or None when no chain returns. A journey that runs is read
    as it runs (its live version); a draft or stopped one as it would be started (its draft)."""
    from ..models import Journey

    running = (Journey.Status.ACTIVE, Journey.Status.PAUSED)
    seen: set[int] = set()
    parents: dict[int, tuple[int | None, str]] = {start: (None, "")}
    frontier = [start]
    while frontier and len(seen) < MAX_HANDOFF_JOURNEYS:
        rows = (
            Journey.objects.for_workspace(workspace)
            .filter(pk__in=frontier)
            .select_related("live_version")
        )
        frontier = []
        for row in rows:
            seen.add(row.pk)
            graph = (
                row.live_version.graph if row.status in running and row.live_version else row.graph
            )
            for node_id, target in handoff_targets(graph):
                if target == back_to:
                    path, at, via = [], row.pk, node_id
                    names = {
                        r.pk: r.name
                        for r in Journey.objects.for_workspace(workspace).filter(pk__in=[*parents])
                    }
                    while at is not None:
                        path.append((names.get(at, f"#{at}"), via))
                        at, via = parents[at][0], parents[at][1]
                    return path[::-1]
                if target not in seen and target not in parents:
                    parents[target] = (row.pk, node_id)
                    frontier.append(target)
    return None


def handoff_chain(context: Any) -> list[int]:
    """The journey ids a run's hand-offs came through (none for a run that entered by itself)."""
    chain = context.get(HANDOFF_CHAIN) if isinstance(context, dict) else None
    return [j for j in chain if is_int(j)] if isinstance(chain, list) else []


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
        link = self.link_errors(config)
        return errors + (link or self.loop_errors(journey_id))

    def loop_errors(self, journey_id: int) -> list[ConfigError]:
        """A hand-off chain that leads back here (A → B → A, or longer) would move a customer
        round the ring for ever, each pass entering the next; refused at validate and start time,
        naming the node in the last journey of the ring that closes it."""
        own_id, workspace = current_journey_id(), current_workspace()
        if own_id is None or workspace is None:
            return []
        ring = handoff_path(workspace, start=journey_id, back_to=own_id)
        if ring is None:
            return []
        names = " → ".join(f'"{name}"' for name, _ in ring)
        last_name, last_node = ring[-1]
        return [
            ConfigError(
                "journey_id",
                f"Hand-off loop: this node enrolls in {names}, whose node {last_node!r} "
                f"enrolls back in this journey. Customers would go round for ever; remove one "
                f"of the hand-offs.",
            )
        ]

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
            ctx.note(journey_id=journey_id, entered=False, reason="journey_not_active")
            return Next("failed")
        # The journeys this run's hand-offs came through, then this one: a target among them
        # closes a ring; at run time the customer leaves by `failed` rather than go round.
        chain = [*handoff_chain(ctx.enrollment.context), ctx.journey_id]
        if target.pk in chain or len(chain) > MAX_HANDOFF_DEPTH:
            ctx.note(journey_id=journey_id, entered=False, reason=HAND_OFF_LOOP, chain=chain)
            return Next("failed")
        if ctx.simulate:  # the simulation sends nothing and enrolls nobody
            ctx.note(journey_id=journey_id, journey_name=target.name)
            return Next("next")
        # The trigger event travels along, so the next journey's Liquid can still read it; the run
        # that handed off is named, so the customer page links both runs.
        context: dict[str, Any] = {
            HANDED_OFF_FROM: {"enrollment_id": ctx.enrollment.id, "journey_id": ctx.journey_id, "node_id": ctx.node_id},
            HANDOFF_CHAIN: chain,
        }
        if ctx.event:
            context["event"] = ctx.event
        result = enrollments_create(
            journey=target, customer_ids=[ctx.customer_id], contexts={ctx.customer_id: context}
        )
        ctx.note(
            journey_id=journey_id,
            entered=result.enrolled == 1,
            **({"enrollment_id": result.ids[0]} if result.ids else {"reason": "not_entered"}),
        )
        return Next("next" if result.enrolled else "failed")
