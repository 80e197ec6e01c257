"""What every error message shown to a user must (not) contain."""

from __future__ import annotations

from pathlib import Path

import pytest


def assert_readable(error: pytest.ExceptionInfo, tmp_path: Path) -> None:
    """A message for a person: no server path, no traceback, no Python type names, not empty."""
    message = str(error.value)
    assert str(tmp_path) not in message
    assert "Traceback" not in message and "Error" not in message
    assert len(message) > 20
