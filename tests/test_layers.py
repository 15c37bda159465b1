"""Imports point down the stack (ARCHITECTURE.md): workspaces ← audiences ← templating ← journeys
← channels_app ← analytics ← config. A lower app never imports a higher one, not even inside a
function; the contract is in pyproject.toml ([tool.importlinter])."""

from __future__ import annotations

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_no_app_imports_an_app_above_it(capsys):
    exit_code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert exit_code == 0, report
