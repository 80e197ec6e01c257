"""The command line: python -m pipeline analyze PATH [PATH ...] [--lead NAME] [--out DIR]."""

from __future__ import annotations

import json
import subprocess
import sys

import wfdb

from pipeline.__main__ import main
from tests.conftest import REPO
from tests.pipeline.physionet_data import physionet_record


def test_two_records_one_missing_the_other_is_still_analysed(tmp_path, capsys):
    record = physionet_record("qtdb", "sel100")

    status = main(["analyze", str(tmp_path / "nothing.hea"), str(record), "--out", str(tmp_path / "out")])

    lines = capsys.readouterr().out.splitlines()
    assert status == 1
    assert lines[0].startswith(f"{tmp_path / 'nothing.hea'}: error: The file 'nothing.hea' was not found")
    assert lines[1].startswith("sel100: lead MLII, 900.0 s,")
    result = json.loads((tmp_path / "out" / "sel100.json").read_text())
    reference_beats = wfdb.rdann(str(record), "atr")
    assert result["record"] == "sel100" and result["fs"] == 250.0
    assert abs(len(result["r_peaks"]) - len(reference_beats.sample)) <= 0.01 * len(reference_beats.sample)
    assert set(result["timings_s"]) >= {"load", "clean", "beats", "intervals", "hrv", "rhythm"}


def test_lead_is_matched_whatever_its_case(tmp_path, capsys):
    record = physionet_record("qtdb", "sel100")

    assert main(["analyze", str(record) + ".hea", "--lead", "v5"]) == 0
    assert main(["analyze", str(record), "--lead", "aVF"]) == 1

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("sel100: lead V5,")
    assert "no lead called 'aVF'" in lines[1] and "MLII, V5" in lines[1]


def test_runs_as_a_module():
    completed = subprocess.run(
        [sys.executable, "-m", "pipeline", "analyze", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert completed.returncode == 0 and "--lead" in completed.stdout


def test_the_rhythm_is_only_called_by_a_validated_model(tmp_path, capsys):
    from pipeline.rhythm_cnn import validation_shortfall

    record = physionet_record("qtdb", "sel100")

    assert main(["analyze", str(record), "--out", str(tmp_path)]) == 0
    assert main(["analyze", str(record), "--rhythm", "off", "--out", str(tmp_path / "off")]) == 0

    result = json.loads((tmp_path / "sel100.json").read_text())
    shortfall = validation_shortfall()
    if shortfall is None:
        assert result["rhythm"]["label"] and result["rhythm_reason"] is None
    else:
        assert result["rhythm"] is None and result["rhythm_reason"] == shortfall
    # Where only the VF/VT call is validated, it is reported on its own; sel100 is sinus rhythm.
    if shortfall is not None and validation_shortfall(scope="shock_advisory") is None:
        assert result["vf_vt"]["windows_called"] == 0 and len(result["vf_vt"]["windows"]) == 179
        assert "VF/VT in 0 of 179 windows; other rhythms not classified" in capsys.readouterr().out
    else:
        assert result["vf_vt"] is None
    off = json.loads((tmp_path / "off" / "sel100.json").read_text())
    assert off["rhythm"] is None and "--rhythm off" in off["rhythm_reason"] and off["vf_vt"] is None


def test_a_record_without_amplitude_calibration_says_so_on_its_line_and_in_its_json(tmp_path, capsys):
    """qtdb sel14046's header gives both signals a gain of 0 ("uncalibrated", header(5))."""
    record = physionet_record("qtdb", "sel14046")

    assert (
        main(["analyze", str(record), str(physionet_record("qtdb", "sel100")), "--out", str(tmp_path)]) == 0
    )

    flagged, plain = capsys.readouterr().out.splitlines()
    assert flagged.endswith(
        "; amplitude not calibrated in 'record 14046, signal 0', 'record 14046, signal 1'"
    )
    assert "calibrated" not in plain
    result = json.loads((tmp_path / "sel14046.json").read_text())
    assert result["uncalibrated_leads"] == ["record 14046, signal 0", "record 14046, signal 1"]
    assert "nominal" in result["amplitude_notice"]


def test_beats_counted_on_another_lead_are_named_on_the_line(capsys):
    assert main(["analyze", str(physionet_record("qtdb", "sele0129"))]) == 0

    line = capsys.readouterr().out.strip()
    assert line.startswith("sele0129: lead D3, 900.0 s, 671 beats,") and line.endswith(
        "; beats counted on lead V3"
    )
