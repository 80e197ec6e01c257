"""The whole analysis (pipeline.analysis.analyze) on real records, against their reference
annotations: the MIT-BIH beats and the QT Database cardiologists' wave boundaries."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import wfdb

from pipeline.analysis import NO_CLASSIFIER_REASON, STEPS, analyze
from pipeline.bench.qrs import BEAT_SYMBOLS, beats_tally
from pipeline.ecg import Ecg
from pipeline.errors import EcgLeadError, EcgTooShortError
from pipeline.rhythm import RHYTHM_CLASSES, Rhythm, RhythmEpisode, RhythmWindow
from tests.pipeline.physionet_data import physionet_record


def record_slice(
    database: str, record: str, start_s: float, duration_s: float
) -> tuple[Ecg, wfdb.Annotation]:
    """Both leads of a real record from ``start_s`` for ``duration_s``, and its .atr annotations."""
    path = str(physionet_record(database, record))
    header = wfdb.rdheader(path)
    start, stop = round(start_s * header.fs), round((start_s + duration_s) * header.fs)
    signals = wfdb.rdrecord(path, sampfrom=start, sampto=stop)
    annotation = wfdb.rdann(path, "atr", sampfrom=start, sampto=stop, shift_samps=True)
    ecg = Ecg(signals.p_signal, float(header.fs), tuple(signals.sig_name), f"{record}.hea", record)
    return ecg, annotation


def reference_beats(annotation: wfdb.Annotation) -> np.ndarray:
    return np.asarray(annotation.sample)[np.isin(annotation.symbol, list(BEAT_SYMBOLS))]


@pytest.fixture(scope="module")
def mitdb_100():
    ecg, annotation = record_slice("mitdb", "100", 0, 300)
    return ecg, annotation, analyze(ecg)


def test_beats_and_heart_rate_agree_with_the_reference_annotations(mitdb_100):
    ecg, annotation, analysis = mitdb_100
    reference = reference_beats(annotation)

    tally = beats_tally(reference, analysis.r_peaks.samples, 0.150 * ecg.fs)
    reference_hr = 60.0 * (reference.size - 1) / ((reference[-1] - reference[0]) / ecg.fs)

    assert tally.sensitivity_pct >= 99.9 and tally.positive_predictivity_pct >= 99.9
    assert analysis.heart_rate.mean_bpm == pytest.approx(reference_hr, abs=1.0)
    assert analysis.heart_rate.min_bpm < analysis.heart_rate.mean_bpm < analysis.heart_rate.max_bpm


def test_lead_closest_to_ii_is_analysed_by_default_and_another_by_name(mitdb_100):
    ecg, _, analysis = mitdb_100

    assert analysis.lead == "MLII" and analysis.lead_index == 0
    assert analyze(ecg, lead="v5").lead == "V5"
    with pytest.raises(EcgLeadError, match="V1"):
        analyze(ecg, lead="V1")


def test_json_follows_the_contract_and_has_no_nan(mitdb_100):
    ecg, _, analysis = mitdb_100

    result = json.loads(json.dumps(analysis.to_dict(), allow_nan=False))

    assert result["record"] == "100" and result["fs"] == 360.0 and result["lead"] == "MLII"
    assert result["duration_s"] == pytest.approx(300.0)
    assert result["r_peaks"] == analysis.r_peaks.samples.tolist()
    assert set(result["heart_rate_bpm"]) >= {"mean", "min", "max"}
    assert set(result["intervals_ms"]) >= {"pr", "qrs", "qt", "qtc_bazett", "qtc_fridericia"}
    assert set(result["hrv"]) >= {"sdnn_ms", "rmssd_ms", "pnn50_pct", "lf_hf"}
    assert len(result["quality"]) == 30
    assert all(set(w) >= {"start_s", "end_s", "usable", "reason"} for w in result["quality"])
    assert result["rhythm"] is None and result["rhythm_reason"] == NO_CLASSIFIER_REASON
    assert set(result["timings_s"]) == set(STEPS)
    assert len(result["beats"]["qrs_onset"]) == len(result["r_peaks"])
    assert result["uncalibrated_leads"] == [] and result["amplitude_notice"] is None
    assert result["beats_lead"] == "MLII" and result["beats_lead_reason"] is None


def test_beats_come_from_another_lead_where_the_analysed_one_adds_t_and_p_waves():
    """qtdb sele0129: the lead closest to II is lead III (D3), where P and T waves pass for beats
    for minutes (pipeline.qrs); the heart rate must be the annotated beats' all the same."""
    path = str(physionet_record("qtdb", "sele0129"))
    header = wfdb.rdheader(path)
    record = wfdb.rdrecord(path)
    ecg = Ecg(record.p_signal, float(header.fs), tuple(record.sig_name), "sele0129.hea", "sele0129")
    reference = reference_beats(wfdb.rdann(path, "atr"))

    result = analyze(ecg).to_dict()

    assert result["lead"] == "D3" and result["beats_lead"] == "V3"
    assert result["beats_lead_reason"].startswith("Beats counted on lead V3")
    tally = beats_tally(reference, np.asarray(result["r_peaks"]), 0.150 * header.fs)
    assert tally.sensitivity_pct >= 99.9 and tally.positive_predictivity_pct >= 99.9
    reference_hr = 60.0 * (reference.size - 1) / ((reference[-1] - reference[0]) / header.fs)
    assert result["heart_rate_bpm"]["mean"] == pytest.approx(reference_hr, abs=1.0)


def test_leads_without_a_gain_are_named_in_the_json_with_a_notice():
    """qtdb sel14046's header gives its two signals an ADC gain of 0 ("uncalibrated")."""
    from pipeline.load import load_ecg

    ecg = load_ecg(physionet_record("qtdb", "sel14046"))
    short = dataclasses.replace(ecg, signal_mv=ecg.signal_mv[: round(60 * ecg.fs)])

    result = analyze(short).to_dict()

    assert result["uncalibrated_leads"] == list(ecg.lead_names)
    notice = result["amplitude_notice"]
    assert notice.startswith("Amplitude not calibrated") and "200 units per mV" in notice
    assert all(f"'{name}'" in notice for name in ecg.lead_names)
    assert result["intervals_ms"]["qrs"] is not None  # timing is measured as usual


def test_progress_reports_every_step_in_order(mitdb_100):
    ecg, _, _ = mitdb_100
    calls = []

    analyze(ecg, progress=lambda step, fraction: calls.append((step, fraction)))

    assert [step for step, _ in calls] == [*STEPS, "done"]
    fractions = [fraction for _, fraction in calls]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)


def q1c_reference_medians(record: str) -> dict[str, float]:
    """Median PR, QRS and QT (ms) of the beats the QT Database's cardiologist annotated."""
    path = str(physionet_record("qtdb", record))
    annotation = wfdb.rdann(path, "q1c")
    fs = annotation.fs
    samples, symbols = np.asarray(annotation.sample), list(annotation.symbol)
    pr, qrs, qt = [], [], []
    for k, symbol in enumerate(symbols):
        if symbol != "N" or k == 0 or symbols[k - 1] != "(" or k + 1 >= len(symbols) or symbols[k + 1] != ")":
            continue
        qrs_on, qrs_off = samples[k - 1], samples[k + 1]
        qrs.append(qrs_off - qrs_on)
        if k >= 3 and symbols[k - 3 : k - 1] == ["p", ")"] and symbols[k - 4] == "(":
            pr.append(qrs_on - samples[k - 4])
        if k + 3 < len(symbols) and symbols[k + 2] == "t" and symbols[k + 3] == ")":
            qt.append(samples[k + 3] - qrs_on)
    to_ms = 1000.0 / fs
    return {"pr": np.median(pr) * to_ms, "qrs": np.median(qrs) * to_ms, "qt": np.median(qt) * to_ms}


@pytest.mark.parametrize("record", ["sel100", "sel16265", "sel803"])
def test_median_intervals_agree_with_the_cardiologist(record):
    path = str(physionet_record("qtdb", record))
    signals = wfdb.rdrecord(path)
    ecg = Ecg(signals.p_signal, float(signals.fs), tuple(signals.sig_name), f"{record}.hea", record)
    reference = q1c_reference_medians(record)

    intervals = analyze(ecg).intervals

    # IEC 60601-2-25 bounds the mean (PR, QRS 10 ms; QT 25 ms) and SD (15, 10, 30 ms) of the
    # per-record errors over a database (python -m pipeline.bench intervals checks that); one
    # record may be off by the mean limit plus one SD.
    assert intervals.pr_ms == pytest.approx(reference["pr"], abs=10.0 + 15.0)
    assert intervals.qrs_ms == pytest.approx(reference["qrs"], abs=10.0 + 10.0)
    assert intervals.qt_ms == pytest.approx(reference["qt"], abs=25.0 + 30.0)
    rr_s = 60.0 / analyze(ecg).heart_rate.mean_bpm
    assert intervals.qtc_bazett_ms == pytest.approx(intervals.qt_ms / np.sqrt(rr_s), rel=0.05)


def test_atrial_fibrillation_has_no_pr_interval():
    # mitdb 201 is in atrial fibrillation for its first ten minutes ('(AFIB' at sample 0 in .atr).
    ecg, annotation = record_slice("mitdb", "201", 0, 60)
    assert annotation.aux_note[0].rstrip("\x00") == "(AFIB"

    analysis = analyze(ecg)

    assert analysis.intervals.pr_ms is None
    assert analysis.to_dict()["intervals_ms"]["pr"] is None
    assert analysis.intervals.qrs_ms is not None


def test_pure_noise_gives_no_heart_rate():
    fs = 360.0
    noise = np.random.default_rng(3).normal(0.0, 0.2, (int(60 * fs), 1))
    ecg = Ecg(noise, fs, ("II",), "noise.csv", "noise")

    analysis = analyze(ecg)

    assert not any(w.usable for w in analysis.quality)
    assert analysis.heart_rate.mean_bpm is None
    assert analysis.intervals.qt_ms is None and analysis.hrv.sdnn_ms is None


def test_a_recording_shorter_than_ten_seconds_is_refused():
    ecg, _ = record_slice("mitdb", "100", 0, 9.5)

    with pytest.raises(EcgTooShortError, match="10 seconds"):
        analyze(ecg)


class _FixedRhythm:
    """A classifier that calls every 10-s window Normal: tests the plumbing, not a model."""

    def classify(self, lead_mv, fs, *, lead, beats=None):
        probabilities = {name: (0.9 if name == "Normal" else 0.1 / 7) for name in RHYTHM_CLASSES}
        n = int(lead_mv.size / fs // 10)
        windows = tuple(RhythmWindow(10.0 * k, 10.0 * (k + 1), "Normal", probabilities) for k in range(n))
        episode = RhythmEpisode(0.0, 10.0 * n, "Normal", 0.9)
        return Rhythm("Normal", 0.9, probabilities, windows, (episode,), lead)


def test_a_classifier_plugs_in_and_its_result_reaches_the_json(mitdb_100):
    ecg, _, _ = mitdb_100

    result = analyze(ecg, classifier=_FixedRhythm()).to_dict()

    assert result["rhythm"]["label"] == "Normal" and result["rhythm"]["confidence"] == 0.9
    assert list(result["rhythm"]["probabilities"]) == list(RHYTHM_CLASSES)
    assert len(result["rhythm"]["windows"]) == 30 and result["rhythm"]["lead"] == "MLII"
    assert result["rhythm_reason"] is None


class _BeatsSeen(_FixedRhythm):
    """Keeps the beats analyze() hands the classifier."""

    beats = None

    def classify(self, lead_mv, fs, *, lead, beats=None):
        self.beats = beats
        return super().classify(lead_mv, fs, lead=lead, beats=beats)


def test_the_classifier_gets_the_analysis_own_beats_with_their_p_waves(mitdb_100):
    # mitdb 100 is sinus rhythm throughout (its reference rhythm labels): P waves precede the
    # beats, and the rhythm features must see them from the intervals step's delineation.
    ecg, _, _ = mitdb_100
    spy = _BeatsSeen()

    analysis = analyze(ecg, classifier=spy)

    assert spy.beats is not None
    np.testing.assert_allclose(spy.beats.times_s, analysis.r_peaks.times_s)
    assert spy.beats.pr_s.shape == spy.beats.times_s.shape
    assert np.mean(np.isfinite(spy.beats.pr_s)) > 0.9
    assert 0.12 < np.nanmedian(spy.beats.pr_s) < 0.22  # a normal adult PR interval


class _FixedVfVt:
    """A VF/VT call with one called window, 10-20 s: tests the plumbing, not a model."""

    seen_beats = None

    def recording_call(self, lead_mv, fs, *, lead, beats=None):
        from pipeline.rhythm import VfVtCall

        self.seen_beats = beats
        n = int(lead_mv.size / fs // 10)
        windows = tuple((10.0 * k, 10.0 * (k + 1), 0.9 if k == 1 else 0.05) for k in range(n))
        return VfVtCall(0.5, windows, (RhythmEpisode(10.0, 20.0, "VF/VT", 0.9),), lead)


def test_a_validated_vf_vt_call_reaches_the_json_where_the_rhythm_names_do_not(mitdb_100):
    ecg, _, _ = mitdb_100
    caller = _FixedVfVt()

    result = analyze(ecg, vf_vt=caller, unclassified_reason="names not validated").to_dict()

    assert result["rhythm"] is None and result["rhythm_reason"] == "names not validated"
    call = result["vf_vt"]
    assert call["label"] == "VF/VT" and call["threshold"] == 0.5 and call["lead"] == "MLII"
    assert call["windows_called"] == 1 and len(call["windows"]) == 30
    assert call["episodes"] == [{"start_s": 10.0, "end_s": 20.0, "label": "VF/VT", "probability": 0.9}]
    assert caller.seen_beats is not None and caller.seen_beats.times_s.size > 300  # the analysis's beats
    json.dumps(result, allow_nan=False)
    # With validated rhythm names the rhythm says VF or VT itself: no separate call.
    assert analyze(ecg, classifier=_FixedRhythm(), vf_vt=_FixedVfVt()).to_dict()["vf_vt"] is None
    assert analyze(ecg).to_dict()["vf_vt"] is None
