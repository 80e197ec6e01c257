"""The speed benchmark's command (python -m pipeline.bench speed) runs and writes its JSON."""

from __future__ import annotations

import json

from pipeline.analysis import STEPS
from pipeline.bench.__main__ import main as bench_main
from tests.pipeline.physionet_data import physionet_record


def test_speed_benchmark_times_analyze_and_writes_json(tmp_path, capsys):
    record = physionet_record("qtdb", "sel100")
    out = tmp_path / "speed.json"

    status = bench_main(
        [
            "speed",
            "--db",
            str(record.parent),
            "--record",
            "sel100",
            "--repeat",
            "1",
            "--no-neurokit",
            "--out",
            str(out),
        ]
    )

    assert status == 0
    assert capsys.readouterr().out.startswith("speed: analyze ")
    result = json.loads(out.read_text())
    assert result["record"] == "sel100" and result["fs"] == 250.0 and result["leads"] == ["MLII", "V5"]
    assert set(result["analyze"]["steps_s"]) == set(STEPS)
    assert 0 < result["analyze"]["median_s"] < 60 and result["analyze"]["beats"] > 1000


def test_a_missing_record_is_an_error_not_a_traceback(tmp_path, capsys):
    assert bench_main(["speed", "--db", str(tmp_path), "--record", "nothing"]) == 2
    assert "no record nothing" in capsys.readouterr().out
