from journeys.services import journey_create, journey_start
from tests.conftest import sandbox_channels
from tests.isolation import isolation_case, isolation_list

from .builders import make_journey

SECRETS = ["secret-journey-name", "signed_up"]


def _started(workspace):
    sandbox_channels(workspace, "email")  # its welcome email needs a channel to start
    return journey_start(journey=make_journey(workspace, name="secret-journey-name"), actor=None)


@isolation_case(
    "journey-detail",
    "journey-validate",
    "journey-start",
    "journey-stop",
    "journey-pause",
    "journey-resume",
    "journey-archive",
    "journey-duplicate",
    "journey-versions",
    "journey-publish-impact",
    "journey-audit",
    "journey-export",
)
@isolation_list("journey-list")
def journey(workspace):
    return {"pk": _started(workspace).pk}, SECRETS


@isolation_case("journey-version-detail")
def journey_version(workspace):
    return {"pk": _started(workspace).pk, "number": 1}, SECRETS


@isolation_list("journey-tags")
def journey_tag(workspace):
    journey_create(workspace=workspace, actor=None, name="secret-journey-name", tags=["secret-tag"])
    return {}, ["secret-tag", "secret-journey-name"]
