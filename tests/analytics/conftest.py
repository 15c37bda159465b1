"""Analytics tests reuse the engine's fixtures (a real worker and the timer pump); their journeys
send, so their workspaces have channels set up."""

import pytest

from tests.engine.conftest import engine, timers_pump  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def _channels(channels_set_up):
    pass
