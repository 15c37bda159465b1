"""The sandboxed Liquid environment: no template loader and hard ceilings on output, loops,
nesting, range and filter result sizes and CPU time, so a marketer's template cannot exhaust a web
or worker process."""

from __future__ import annotations

import time
from typing import Any

from liquid import BoundTemplate, Environment, RenderContext, soft_str
from liquid.builtin.expressions.primitive import RangeLiteral
from liquid.exceptions import ResourceLimitError

# Email/push bodies are small; a template that renders more than this is a runaway loop.
MAX_OUTPUT_CHARS = 200_000
# A personalization renders in microseconds. Within the loop and size ceilings a template can
# still burn CPU (10,000 iterations of `split` on a 100 kB string take ~30 s), so the clock
# stops it: one second of the thread's own CPU time (not wall time, which a busy machine
# stretches for innocent templates) is several thousand times a real template's cost.
MAX_RENDER_SECONDS = 1.0
# Python-liquid bounds loops and output but not what one filter call builds, and the clock is
# only read between calls: `(1..100000000) | reverse` took 12 s and ~4 GB in one call,
# `(1..10000000) | join` 900 MB. So ranges and every filter's input and result are bounded:
LOOP_LIMIT = 10_000
MAX_ITEMS = LOOP_LIMIT  # a range or list longer than any loop may walk is a runaway
MAX_STRING_CHARS = MAX_OUTPUT_CHARS  # a text longer than a message may be is a runaway
MAX_NUMBER_BITS = 1024  # the largest float's magnitude (~1.8e308); beyond it `times` is looping
MAX_UNIQ_ITEMS = 2_000  # `uniq` compares each item with all before it: 2,000 items ≈ 12 ms
# Parsing is not under the clock. Plain text costs little (an email body with inline CSS may
# be ~100 kB; mail clients clip past that), but markup costs ~300 bytes and ~14 µs per
# character: 195 kB of `{{ a | f: 1,1,1,… }}` took 2.7 s and 52 MB to parse, an `and` chain 66 MB.
MAX_SOURCE_CHARS = 200_000
MAX_MARKUP_CHARS = 20_000  # inside {{ }} and {% %}: ≤ ~0.3 s and ~7 MB of parsing


class RenderTimeoutError(ResourceLimitError):
    """A render ran past MAX_RENDER_SECONDS."""


class TemplateSizeError(ResourceLimitError):
    """A template, range or filter result is larger than the sandbox allows."""


def _text_size(value: Any, budget: int) -> int:
    """The characters `value` prints as (strings inside lists and dicts), counted until past
    `budget`; other scalars count one."""
    total, stack = 0, [value]
    while stack and total <= budget:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            total += len(item)
            stack.extend(item.values())
        else:
            total += 1
    return total


def _check_size(value: Any, what: str, token=None) -> None:
    if isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            raise TemplateSizeError(
                f"{what} is longer than {MAX_STRING_CHARS:,} characters", token=token
            )
    elif isinstance(value, (list, tuple, dict, range)):
        if len(value) > MAX_ITEMS:
            raise TemplateSizeError(f"{what} has more than {MAX_ITEMS:,} items", token=token)
        if not isinstance(value, range) and _text_size(value, MAX_STRING_CHARS) > MAX_STRING_CHARS:
            raise TemplateSizeError(
                f"{what} holds more than {MAX_STRING_CHARS:,} characters", token=token
            )
    elif isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > MAX_NUMBER_BITS:
            raise TemplateSizeError(f"{what} is a number too large", token=token)


def _check_growth(name: str, left: Any, args: tuple, token) -> None:
    """Filters whose result can be far larger than their inputs are checked before they run."""
    if name == "join" and isinstance(left, (list, tuple, range)):
        separator = soft_str(args[0]) if args else " "
        size = _text_size(left, MAX_STRING_CHARS) + len(separator) * len(left)
        if size > MAX_STRING_CHARS:
            raise TemplateSizeError(
                f"join would make more than {MAX_STRING_CHARS:,} characters", token=token
            )
    elif name == "replace" and isinstance(left, str) and args:
        old, new = soft_str(args[0]), soft_str(args[1]) if len(args) > 1 else ""
        if (
            len(new) > len(old)
            and len(left) + left.count(old) * (len(new) - len(old)) > MAX_STRING_CHARS
        ):
            raise TemplateSizeError(
                f"replace would make more than {MAX_STRING_CHARS:,} characters", token=token
            )
    elif name == "uniq" and isinstance(left, (list, tuple, range)) and len(left) > MAX_UNIQ_ITEMS:
        raise TemplateSizeError(f"uniq takes at most {MAX_UNIQ_ITEMS:,} items", token=token)


class _BoundedFilter:
    """A filter whose inputs and result are size-checked: the clock cannot stop one call."""

    __slots__ = ("func", "name", "token")

    def __init__(self, func, name: str, token):
        self.func, self.name, self.token = func, name, token

    def __call__(self, left: Any, *args: Any, **kwargs: Any) -> Any:
        for value in (left, *args, *kwargs.values()):
            _check_size(value, f"an input of {self.name}", self.token)
        _check_growth(self.name, left, args, self.token)
        result = self.func(left, *args, **kwargs)
        _check_size(result, f"the result of {self.name}", self.token)
        return result


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
        return _BoundedFilter(super().filter(name, token), name, token)

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
    loop_iteration_limit = LOOP_LIMIT
    range_length_limit = MAX_ITEMS  # read by the range literal below
    context_depth_limit = 30
    local_namespace_limit = 100_000


ENV = SandboxedEnvironment()


# A range literal builds a lazy `range`, but a reversed loop, a filter or printing it makes a list
# of every number first. python-liquid has no hook for range creation, so the literal's evaluation
# is wrapped once; environments without `range_length_limit` (none in this project) are unchanged.
_evaluate_range = RangeLiteral.evaluate
_evaluate_range_async = RangeLiteral.evaluate_async


def _bounded_range(literal: RangeLiteral, context: RenderContext, result: range) -> range:
    limit = getattr(context.env, "range_length_limit", None)
    if limit is not None and result.stop - result.start > limit:
        raise TemplateSizeError(f"a range has more than {limit:,} items", token=literal.token)
    return result


def _evaluate_bounded_range(self: RangeLiteral, context: RenderContext) -> range:
    return _bounded_range(self, context, _evaluate_range(self, context))


async def _evaluate_bounded_range_async(self: RangeLiteral, context: RenderContext) -> range:
    return _bounded_range(self, context, await _evaluate_range_async(self, context))


RangeLiteral.evaluate = _evaluate_bounded_range  # type: ignore[method-assign]
RangeLiteral.evaluate_async = _evaluate_bounded_range_async  # type: ignore[method-assign]
