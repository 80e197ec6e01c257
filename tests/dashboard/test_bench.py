"""Benchmarks: the patients benchmark end to end (small N), and the VF-alarm latency arithmetic."""

import json

from dashboard.bench import main


def test_patients_benchmark_smoke(tmp_path):
    out = tmp_path / "bench.json"
    assert main(["patients", "--n", "400", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["n_patients"] == 400
    queries = report["queries"]
    assert queries["first page, newest first"]["matching"] == 400
    # Half of the patients have a risk entry; the high-risk filter sees only those.
    assert 0 < queries["age 60-70, high risk"]["matching"] < 200
    assert report["slowest_median_ms"] == max(q["median_ms"] for q in queries.values())


def test_the_vf_alarm_latency_slides_the_servers_10_s_strip_from_the_onset():
    import numpy as np

    from dashboard.bench_monitor import _earliest_alarm, _worst_case
    from dashboard.monitoring import REPLAY_FS, RHYTHM_EVERY_S

    signal = np.zeros(int(60 * REPLAY_FS))
    signal[int(33.4 * REPLAY_FS) :] = 1.0  # "VF" from 33.4 s; the onset is annotated at 30 s
    ends_in_vf = lambda strip: strip[-1] > 0  # noqa: E731
    timings: list[float] = []
    assert _earliest_alarm(ends_in_vf, signal, 30.0, timings, step_s=0.5) == 3.5
    assert len(timings) == 8 and all(seconds >= 0 for seconds in timings)  # 30.0, 30.5, ..., 33.5
    assert _worst_case(3.5) == round(3.5 + RHYTHM_EVERY_S + 0.1, 2)
    assert _earliest_alarm(lambda strip: False, signal, 30.0, [], step_s=0.5) is None  # 15 s, then gives up
    assert _earliest_alarm(lambda strip: len(strip) == 10 * REPLAY_FS, signal, 2.0, [], step_s=0.5) == 8.0
