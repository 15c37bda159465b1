"""The split node: a random, sticky-per-customer A/B(/n) split.

Config: {"paths": [{"id", "name", "percent"}, …]} with percents summing to 100, and optionally
"experiment": {"goal_id", "min_per_path", "decide_after", "confidence"} (journeys/experiments.py
decides a winner; every later arrival takes it). Handles: each path id."""

from __future__ import annotations

from typing import Any, ClassVar

from ..fields import duration_errors, is_int, is_number, unique_ids_errors, unknown_keys
from .base import ConfigError, Next, NodeType, Result, register
from .describe import named_items


@register
class SplitNode(NodeType):
    type = "split"
    label = "Random split"
    category = "flow"
    default_config: ClassVar[dict] = {
        "paths": [{"id": "a", "name": "A", "percent": 50}, {"id": "b", "name": "B", "percent": 50}]
    }

    # GET /node-types
    icon = "AB"
    description = "A/B test: sticky random paths"
    config_schema: ClassVar[dict] = named_items(
        "paths", "Paths", 2, {"percent": {"type": "number", "exclusiveMinimum": 0, "maximum": 100}}, ("percent",)
    )
    outputs: ClassVar[list[dict]] = [{"handles": [{"each": "paths"}]}]

    def validate(self, config: dict[str, Any], *, in_journey_settings: dict | None = None) -> list[ConfigError]:
        errors = unknown_keys(config, {"paths", "experiment"})
        if "experiment" in config:
            errors += experiment_errors(config["experiment"], in_journey_settings)
        paths = config.get("paths")
        if not isinstance(paths, list) or len(paths) < 2:
            return [*errors, ConfigError("paths", "At least two paths are required.")]
        errors += unique_ids_errors(paths, "paths")
        total, all_numbers = 0.0, True
        for i, path in enumerate(paths):
            if not isinstance(path, dict):
                all_numbers = False
                continue
            errors += unknown_keys(path, {"id", "name", "percent"}, f"paths.{i}")
            if "name" in path and not isinstance(path["name"], str):
                errors.append(ConfigError(f"paths.{i}.name", "Must be a string."))
            percent = path.get("percent")
            if not is_number(percent) or not 0 < percent <= 100:
                errors.append(ConfigError(f"paths.{i}.percent", "Must be a number above 0, at most 100."))
                all_numbers = False
            else:
                total += percent
        if all_numbers and abs(total - 100) > 1e-9:
            errors.append(ConfigError("paths", f"Percents must sum to 100 (they sum to {total:g})."))
        return errors

    def execute(self, ctx) -> Result:
        from ..engine import stable_bucket  # the engine imports the node registry
        from ..experiments import experiment_winner

        if ctx.config.get("experiment"):
            winner = experiment_winner(journey_id=ctx.journey_id, node_id=ctx.node_id)
            if winner in {p["id"] for p in ctx.config["paths"]}:
                return Next(winner)

        # Sticky: the same customer takes the same path of this node every time.
        bucket = stable_bucket("split", ctx.journey_id, ctx.node_id, ctx.customer_id)
        paths = ctx.config["paths"]
        edge = 0.0
        for path in paths:
            edge += path["percent"] * 100
            if bucket < edge:
                return Next(path["id"])
        return Next(paths[-1]["id"])  # float rounding at the top edge


def experiment_errors(experiment: Any, settings: dict | None, *, also_goals: tuple[str, ...] = ()) -> list[ConfigError]:
    """The errors of an `experiment` config (a split's, or a message node's, whose goal may also be
    one of `also_goals`: "opened", "clicked")."""
    f = "experiment"
    if not isinstance(experiment, dict):
        return [ConfigError(f, 'Must be {"goal_id", "min_per_path"?, "decide_after", "confidence"?}.')]
    errors = unknown_keys(experiment, {"goal_id", "min_per_path", "decide_after", "confidence"}, f)
    goal_ids = [g.get("id") for g in (settings or {}).get("goals") or [] if isinstance(g, dict)]
    goal_id = experiment.get("goal_id")
    if not isinstance(goal_id, str) or (goal_id not in also_goals and settings is not None and goal_id not in goal_ids):
        also = "".join(f", or {g!r}" for g in also_goals)
        errors.append(ConfigError(f"{f}.goal_id", f"Must be the id of one of the journey's goals{also}."))
    if "min_per_path" in experiment and (not is_int(experiment["min_per_path"]) or experiment["min_per_path"] < 1):
        errors.append(ConfigError(f"{f}.min_per_path", "Must be a whole number of at least 1."))
    errors += duration_errors(experiment.get("decide_after"), f"{f}.decide_after")
    confidence = experiment.get("confidence", 0.95)
    if not is_number(confidence) or not 0.5 <= confidence < 1:
        errors.append(ConfigError(f"{f}.confidence", "Must be a number from 0.5 up to (not including) 1."))
    return errors
