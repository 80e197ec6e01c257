"""The data helper: a missing PhysioNet record skips the test locally but fails it in CI."""

from __future__ import annotations

import pytest

from tests.pipeline.physionet_data import physionet_record


def test_missing_record_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run"):
        physionet_record("mitdb", "no-such-record")


def test_missing_record_skips_elsewhere(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-such-record"):
        physionet_record("mitdb", "no-such-record")
