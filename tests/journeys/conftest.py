"""Journey tests publish journeys that send: their workspaces have channels set up."""

import pytest


@pytest.fixture(autouse=True)
def _channels(channels_set_up):
    pass
