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

    from dashboard.bench_monitor import _alarm_after_onset
    from dashboard.monitoring import REPLAY_FS, RHYTHM_EVERY_S

    signal = np.zeros(int(60 * REPLAY_FS))
    signal[int(33.4 * REPLAY_FS) :] = 1.0  # "VF" from 33.4 s; the onset is annotated at 30 s
    ends_in_vf = lambda strip: strip[-1] > 0  # noqa: E731
    timings: list[float] = []
    earliest, worst = _alarm_after_onset(ends_in_vf, signal, 30.0, timings, step_s=0.1)
    assert earliest == 3.5  # the strip ending at 33.5 s is the first to end in VF
    # The server's phase is anyone's: the unluckiest classifies at 33.4 s, then one period later;
    # the browser sees it at its next poll.
    assert worst == round(3.5 + RHYTHM_EVERY_S - 0.1 + 0.1, 2)
    assert len(timings) == 151 and all(seconds >= 0 for seconds in timings)  # 30.0, 30.1, ..., 45.0
    assert _alarm_after_onset(lambda strip: False, signal, 30.0, [], step_s=0.5) == (None, None)
    full = lambda strip: len(strip) == 10 * REPLAY_FS  # noqa: E731
    assert _alarm_after_onset(full, signal, 2.0, [], step_s=0.5)[0] == 8.0  # the first full strip


def test_a_flickering_call_counts_as_the_server_would_see_it():
    import numpy as np

    from dashboard.bench_monitor import _alarm_after_onset
    from dashboard.monitoring import REPLAY_FS, RHYTHM_EVERY_S

    signal = np.zeros(int(60 * REPLAY_FS))
    # Strips are called in order, ending at 30.0, 30.1, ... s. VF/VT only on those ending on a
    # whole second from 33 s on: a server classifying at x.5 s never raises the alarm.
    ends = iter(np.round(np.arange(30.0, 45.05, 0.1), 1))

    def on_whole_seconds(strip):
        t = next(ends)
        return t >= 33.0 and t == round(t)

    earliest, worst = _alarm_after_onset(on_whole_seconds, signal, 30.0, [], step_s=0.1)

    assert earliest == 3.0
    assert RHYTHM_EVERY_S > 0.1 and worst is None


def test_false_vf_vt_alarms_are_counted_on_strips_without_vf_or_vt(tmp_path):
    import json
    from pathlib import Path

    from dashboard.bench_monitor import bench_vf_false_alarms_held_out
    from dashboard.monitoring import RHYTHM_EVERY_S
    from pipeline.rhythm_cnn import DEFAULT_MODEL_PATH

    # The sample library's 5 min of mitdb 100 (sinus rhythm throughout), "held out" from the
    # shipped model (which saw it in training: this checks the counting, not the model).
    samples = Path(__file__).resolve().parents[2] / "dashboard" / "samples"
    (tmp_path / "folds.json").write_text(json.dumps({str(DEFAULT_MODEL_PATH): ["samples/mitdb-100"]}))

    result = bench_vf_false_alarms_held_out(str(tmp_path), str(samples))

    (row,) = result["records"]
    assert row["record"] == "samples/mitdb-100" and 280 <= row["strips"] <= 291
    assert result["hours"] == round(row["strips"] * RHYTHM_EVERY_S / 3600, 2)
    assert result["events"] == row["events"] == 0
    assert result["events_per_hour"] == 0.0


def test_false_vf_vt_alarms_on_a_beat_labelled_database_the_model_never_saw(tmp_path):
    import wfdb

    from dashboard.bench_monitor import bench_vf_false_alarms_beats
    from tests.pipeline.physionet_data import physionet_record

    # qtdb sel16265 (MIT-BIH Normal Sinus Rhythm Database, 15 min, every beat normal: its .atr read
    # here) is scored; sel100 is mitdb 100, on which the model trained: left out by its name.
    folder = tmp_path / "qtdb"
    folder.mkdir()
    for name in ("sel16265", "sel100"):
        source = physionet_record("qtdb", name)
        for extension in (".hea", ".dat", ".atr"):
            (folder / (name + extension)).symlink_to(source.with_name(name + extension))
    symbols = set(wfdb.rdann(str(physionet_record("qtdb", "sel16265")), "atr").symbol)
    assert symbols == {"N"}

    result = bench_vf_false_alarms_beats(str(folder))

    assert list(result["left_out"]) == ["sel100"] and "mitdb" in result["left_out"]["sel100"]
    (row,) = result["records"]
    # Strips end every second from 10 s to the end of the 15 min (891), less those the beat
    # labels do not describe.
    assert row["record"] == "sel16265" and row["source"] == "nsrdb" and 800 <= row["strips"] <= 891
    assert result["hours"] == round(row["strips"] / 3600, 2)
    assert row["events"] == result["events"] == 0  # sinus rhythm: no VF/VT alarm
