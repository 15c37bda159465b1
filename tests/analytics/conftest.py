"""Analytics tests reuse the engine's fixtures (a real worker and the timer pump)."""

from tests.engine.conftest import engine, timers_pump  # noqa: F401  (fixtures)
