"""The sandboxed Liquid environment: no template loader and hard ceilings on output, loops,
nesting and CPU time, so a marketer's template cannot exhaust a web or worker process."""

from __future__ import annotations

import time
from typing import Any

from liquid import BoundTemplate, Environment, RenderContext
from liquid.exceptions import ResourceLimitError

# Email/push bodies are small; a template that renders more than this is a runaway loop.
MAX_OUTPUT_CHARS = 200_000
# A personalization renders in microseconds. Within the loop and size ceilings a template can
# still burn CPU (10,000 iterations of `split` on a 100 kB string take ~30 s), so the clock
# stops it: one second of the thread's own CPU time (not wall time, which a busy machine
# stretches for innocent templates) is several thousand times a real template's cost.
MAX_RENDER_SECONDS = 1.0


class RenderTimeoutError(ResourceLimitError):
    """A render ran past MAX_RENDER_SECONDS."""


class _DeadlineContext(RenderContext):
    """Checks the clock wherever a template's work multiplies: every variable lookup, filter
    call and loop start (a loop body without either only writes text, bounded by the output
    limit)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.deadline = time.thread_time() + MAX_RENDER_SECONDS

    def _check_clock(self, token=None) -> None:
        if time.thread_time() > self.deadline:
            raise RenderTimeoutError(
                f"rendering took longer than {MAX_RENDER_SECONDS:g} s", token=token
            )

    def get(self, path, *, token, default=RenderContext.get.__kwdefaults__["default"]):
        self._check_clock(token)
        return super().get(path, token=token, default=default)

    def filter(self, name, token):
        self._check_clock(token)
        return super().filter(name, token)

    def raise_for_loop_limit(self, length: int = 1) -> None:
        self._check_clock()
        super().raise_for_loop_limit(length)


class _DeadlineTemplate(BoundTemplate):
    context_class = _DeadlineContext


class SandboxedEnvironment(Environment):
    """No template loader (include/render find nothing) and hard ceilings on output, loops,
    nesting and time, so a marketer's template cannot exhaust a worker."""

    template_class = _DeadlineTemplate
    output_stream_limit = MAX_OUTPUT_CHARS
    loop_iteration_limit = 10_000
    context_depth_limit = 30
    local_namespace_limit = 100_000


ENV = SandboxedEnvironment()
