"""Where the tests find the offline PhysioNet copies, and what they do when those are missing.

The databases live in ``shared/data/physionet`` beside the repository (see shared/data/README.md).
A developer without them gets the data tests skipped, with the reason; CI (``CI=true``) must
have them, so there a missing database fails the test instead of silently skipping it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PHYSIONET = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "physionet"


def physionet_record(database: str, record: str) -> Path:
    """The path (without extension) of ``record`` in ``database``, e.g. ("mitdb", "100")."""
    record_path = PHYSIONET / database / record
    if not record_path.with_name(record_path.name + ".hea").is_file():
        reason = f"PhysioNet record {database}/{record} not found under {PHYSIONET}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}: CI must run the tests on real data")
        pytest.skip(reason)
    return record_path
