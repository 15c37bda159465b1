"""Liquid personalization, one layer below journeys and channels: the sandboxed environment, the
render cache and the one context builder (customer, event, journey) every template sees."""

from .context import customer_liquid, liquid_context
from .render import (
    RenderError,
    has_liquid,
    render_liquid,
    render_string,
    render_value,
    template_error,
    template_errors_in,
)
from .sandbox import (
    ENV,
    MAX_OUTPUT_CHARS,
    MAX_RENDER_SECONDS,
    RenderTimeoutError,
    SandboxedEnvironment,
)

__all__ = [
    "ENV",
    "MAX_OUTPUT_CHARS",
    "MAX_RENDER_SECONDS",
    "RenderError",
    "RenderTimeoutError",
    "SandboxedEnvironment",
    "customer_liquid",
    "has_liquid",
    "liquid_context",
    "render_liquid",
    "render_string",
    "render_value",
    "template_error",
    "template_errors_in",
]
