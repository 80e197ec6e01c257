"""R-peak detection (pipeline.qrs) against the databases' own reference beat annotations,
and the benchmark command that scores it (pipeline.bench.qrs).

The slices are 5 minutes of real MIT-BIH Arrhythmia Database records (lead 0, 360 Hz) chosen
for what makes detection hard; each floor is a little under what the detector scores there
(stated beside it), so a regression fails while noise in the last decimal does not.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import wfdb
from scipy.signal import resample_poly

from pipeline.bench.qrs import BEAT_SYMBOLS, beats_matched, beats_tally
from pipeline.bench.qrs import main as bench_main
from pipeline.errors import EcgRateError, EcgSignalError, EcgTooShortError
from pipeline.qrs import RPeaks, detect_r_peaks, r_peaks_across_leads
from tests.pipeline.physionet_data import physionet_record

MITDB_FS = 360.0


def mitdb_slice(record: str, start_s: float, duration_s: float = 300.0) -> tuple[np.ndarray, np.ndarray]:
    """Lead 0 of a MIT-BIH record from ``start_s`` for ``duration_s`` (mV), and its reference
    beats (samples from the slice's start)."""
    path = str(physionet_record("mitdb", record))
    start, stop = round(start_s * MITDB_FS), round((start_s + duration_s) * MITDB_FS)
    signal = wfdb.rdrecord(path, sampfrom=start, sampto=stop, channels=[0]).p_signal[:, 0]
    annotation = wfdb.rdann(path, "atr", sampfrom=start, sampto=stop, shift_samps=True)
    return signal, reference_beats(annotation)


def reference_beats(annotation: wfdb.Annotation) -> np.ndarray:
    symbols = np.asarray(annotation.symbol)
    return np.asarray(annotation.sample)[np.isin(symbols, list(BEAT_SYMBOLS))]


def tally(reference: np.ndarray, peaks: RPeaks):
    return beats_tally(reference, peaks.samples, 0.150 * peaks.fs)


@pytest.mark.parametrize(
    ("record", "start_s", "se_floor", "ppv_floor"),
    [
        ("100", 0, 99.9, 99.9),  # normal sinus rhythm: 100 / 100
        ("105", 1200, 97.0, 92.0),  # the noisiest 5 minutes of the database: 98.2 / 93.3
        ("107", 600, 99.0, 99.5),  # paced, wide complexes: 99.4 / 100
        ("119", 0, 99.9, 99.9),  # ventricular bigeminy, large ectopic beats: 100 / 100
        ("203", 0, 98.0, 98.5),  # multiform ventricular beats, atrial flutter, noise: 98.6 / 99.0
        ("208", 1200, 97.5, 99.0),  # couplets and fusion beats, noise: 98.4 / 99.4
    ],
)
def test_mitdb_slice_scores_above_floor(record, start_s, se_floor, ppv_floor):
    signal, reference = mitdb_slice(record, start_s)

    scores = tally(reference, detect_r_peaks(signal, MITDB_FS))

    assert scores.sensitivity_pct >= se_floor, scores
    assert scores.positive_predictivity_pct >= ppv_floor, scores


@pytest.mark.parametrize("record", ["sel102", "sele0106", "sel16265"])
def test_qtdb_at_250_hz_finds_every_beat(record):
    # QT Database records at 250 Hz, 15 min: paced (MIT-BIH 102), European ST-T, MIT-BIH NSR.
    path = str(physionet_record("qtdb", record))
    lead = wfdb.rdrecord(path, channels=[0])
    reference = reference_beats(wfdb.rdann(path, "atr"))

    peaks = detect_r_peaks(lead.p_signal[:, 0], lead.fs)

    assert peaks.fs == 250.0
    scores = tally(reference, peaks)
    assert scores.sensitivity_pct >= 99.8, scores
    assert scores.positive_predictivity_pct >= 99.8, scores


def test_peaks_lie_on_the_r_extremum_where_the_reference_is():
    # In record 100 the reference annotations sit on the R peak itself (checked: within one
    # sample of the largest deflection of the 0.5-40 Hz signal), so ours must land there too.
    signal, reference = mitdb_slice("100", 0)

    peaks = detect_r_peaks(signal, MITDB_FS)

    matched_reference, matched_peak = beats_matched(reference, peaks.samples, 0.150 * MITDB_FS)
    offsets_ms = (peaks.samples[matched_peak] - reference[matched_reference]) / MITDB_FS * 1000
    assert matched_reference.size == reference.size
    assert np.max(np.abs(offsets_ms)) <= 6.0  # two samples
    assert np.median(np.abs(offsets_ms)) == 0.0
    assert np.all(peaks.amplitude_mv > 0.5)  # upright R waves of about 1 mV, not the S wave


def test_each_peak_is_a_local_extremum_of_the_signal():
    signal, _ = mitdb_slice("119", 0)  # upright normal beats and inverted ventricular beats

    peaks = detect_r_peaks(signal, MITDB_FS)

    # On the 0.5-40 Hz signal the extremum is exact; on the raw signal, within 2 samples.
    half = 4  # samples, 11 ms each side
    for sample, amplitude in zip(peaks.samples[1:-1], peaks.amplitude_mv[1:-1], strict=True):
        window = signal[sample - half : sample + half + 1]
        extreme = np.argmax(window) if amplitude > 0 else np.argmin(window)
        assert abs(extreme - half) <= 2


def test_inverted_or_rescaled_lead_gives_the_same_beats():
    signal, reference = mitdb_slice("208", 0)
    peaks = detect_r_peaks(signal, MITDB_FS)

    in_microvolts = detect_r_peaks(signal * 1000.0, MITDB_FS)
    inverted = detect_r_peaks(-signal, MITDB_FS)

    np.testing.assert_array_equal(in_microvolts.samples, peaks.samples)
    assert tally(reference, inverted) == tally(reference, peaks)


@pytest.mark.parametrize(("record", "start_s"), [("208", 1200), ("203", 0), ("107", 600)])
@pytest.mark.parametrize("fs", [250.0, 500.0])
def test_other_sampling_rates_score_alike(record, start_s, fs):
    signal, reference = mitdb_slice(record, start_s)
    at_360 = tally(reference, detect_r_peaks(signal, MITDB_FS))

    resampled = resample_poly(signal, int(fs), int(MITDB_FS))
    at_fs = tally(np.round(reference * fs / MITDB_FS), detect_r_peaks(resampled, fs))

    # Measured: within 0.4 percentage points of 360 Hz on these slices.
    assert abs(at_fs.sensitivity_pct - at_360.sensitivity_pct) <= 0.6, (at_fs, at_360)
    assert abs(at_fs.positive_predictivity_pct - at_360.positive_predictivity_pct) <= 0.6, (at_fs, at_360)


@pytest.mark.parametrize("fs", [128.0, 360.0, 1000.0])
def test_flat_line_has_no_beats(fs):
    for level_mv in (0.0, -1.3):
        peaks = detect_r_peaks(np.full(int(60 * fs), level_mv), fs)
        assert len(peaks) == 0


@pytest.mark.parametrize("sigma_mv", [0.01, 0.1, 1.0])
def test_gaussian_noise_gives_far_fewer_beats_than_a_heart(sigma_mv):
    # The kurtosis gate stops most detections in noise but not all (see pipeline/qrs.py):
    # measured on these 10 realisations: 0-26 a minute, 6.4 on average, whatever the amplitude.
    counts = [
        len(detect_r_peaks(np.random.default_rng(seed).normal(0.0, sigma_mv, int(60 * MITDB_FS)), MITDB_FS))
        for seed in range(10)
    ]

    assert max(counts) < 40  # a minute; a heart gives 60-100 beats, bradycardia 40-60
    assert np.mean(counts) <= 15


def test_wide_complexes_without_a_baseline_between_them_are_beats():
    # Ventricular tachycardia or flutter: wide complexes one after the other, no isoelectric
    # stretch, so the 5-15 Hz signal is not spiky (kurtosis about 2). The complexes repeat at
    # 180 per minute; each is found.
    fs, bpm = 250.0, 180.0
    t = np.arange(int(30 * fs)) / fs
    phase = 2 * np.pi * bpm / 60.0 * t
    vt = 2.0 * np.sin(phase) + 0.6 * np.sin(2 * phase + 0.7) + 0.3 * np.sin(3 * phase + 1.9)
    vt += np.random.default_rng(0).normal(0.0, 0.02, t.size)

    peaks = detect_r_peaks(vt, fs)

    rr_s = np.diff(peaks.times_s)
    assert len(peaks) >= 0.95 * bpm * 30 / 60 and np.median(rr_s) == pytest.approx(60.0 / bpm, rel=0.03)


def test_annotated_ventricular_tachycardia_is_detected_at_a_tachycardia_rate():
    # vfdb labels its VT episodes (rhythm annotations, no beats); VT is a rate of 100 a minute or
    # more by definition. Over all of vfdb's VT episodes of 10 s or more (23), the beats found
    # give at least that rate in most: measured 18 (60 % of the VT time; the rest are wide, slow
    # or low complexes in 427, 602, 614). The kurtosis gate alone found 5 (611's 904 s of VT at
    # 2 a minute).
    from pipeline.rhythm_labels import record_rhythm_segments

    fast, episodes = 0, 0
    folder = physionet_record("vfdb", "611").parent
    for record in sorted(p.stem for p in folder.glob("*.hea")):
        path = physionet_record("vfdb", record)
        lead = np.nan_to_num(wfdb.rdrecord(str(path), channels=[0]).p_signal[:, 0])
        times = detect_r_peaks(lead, 250.0).times_s
        for segment in record_rhythm_segments(path):
            if segment.rhythm_class == "VT" and segment.duration_s >= 10:
                rate = np.sum((times >= segment.start_s) & (times < segment.end_s)) / segment.duration_s * 60
                fast += rate >= 100
                episodes += 1
    assert episodes == 23 and fast >= 0.7 * episodes


@pytest.mark.parametrize("noise", ["em", "ma", "bw"])
def test_real_noise_is_not_taken_for_a_periodic_rhythm(noise):
    # nstdb's noise records (electrodes placed where no ECG is seen): where the 5-15 Hz signal is
    # not spiky, its repetition at heart rates does not open the gate either (none of their 10-s
    # windows reached the periodicity threshold when it was chosen).
    from pipeline.qrs import _detect, _Rules

    lead = wfdb.rdrecord(str(physionet_record("nstdb", noise)), channels=[0]).p_signal[:, 0]
    with_exception = _detect(lead, 360.0, _Rules())
    without = _detect(lead, 360.0, _Rules(periodic_exception=False))
    assert len(with_exception) <= len(without) * 1.01 + 5


def test_result_fields_agree():
    signal, _ = mitdb_slice("105", 1200, 60)

    peaks = detect_r_peaks(signal, MITDB_FS)

    n = len(peaks)
    assert peaks.samples.dtype == np.int64 and np.all(np.diff(peaks.samples) > 0)
    assert peaks.amplitude_mv.shape == peaks.searchback.shape == peaks.threshold_ratio.shape == (n,)
    np.testing.assert_allclose(peaks.times_s, peaks.samples / MITDB_FS)
    assert np.all(peaks.threshold_ratio[~peaks.searchback] > 1.0)
    assert np.all(peaks.threshold_ratio[peaks.searchback] > 0.0)


def test_a_ten_second_strip_works():
    signal, reference = mitdb_slice("100", 60, 10)

    scores = tally(reference, detect_r_peaks(signal, MITDB_FS))

    assert scores.fn == 0 and scores.fp == 0


def test_bad_input_is_refused_with_readable_errors():
    with pytest.raises(EcgRateError):
        detect_r_peaks(np.zeros(1000), 20.0)
    with pytest.raises(EcgTooShortError):
        detect_r_peaks(np.zeros(100), 360.0)
    with pytest.raises(EcgSignalError):
        detect_r_peaks(np.zeros((3600, 2)), 360.0)
    gap = np.zeros(3600)
    gap[100] = np.nan
    with pytest.raises(EcgSignalError):
        detect_r_peaks(gap, 360.0)


def test_matching_is_one_to_one_and_nearest_first():
    # Window 54 samples (150 ms at 360 Hz). 1100 is 100 samples from 1000: no match. 1290 and
    # 1310 both lie 10 from 1300, which takes one; the other is false. 2054 is on the edge.
    reference = np.array([1000, 1300, 2000])
    detected = np.array([1100, 1290, 1310, 2054])

    matched_reference, matched_detection = beats_matched(reference, detected, 54)

    assert matched_reference.tolist() == [1, 2]
    assert matched_detection.tolist() in ([1, 3], [2, 3])
    scores = beats_tally(reference, detected, 54)
    assert (scores.tp, scores.fp, scores.fn) == (2, 2, 1)


def test_matching_prefers_the_nearest_pair_over_the_first():
    # Detection 150 lies 50 from reference 100 and 10 from reference 160: it belongs to 160,
    # and reference 100 then takes detection 90.
    matched_reference, matched_detection = beats_matched(np.array([100, 160]), np.array([90, 150]), 54)

    assert list(zip(matched_reference.tolist(), matched_detection.tolist(), strict=True)) == [(0, 0), (1, 1)]


def test_benchmark_command_writes_valid_json(tmp_path, capsys):
    database = physionet_record("mitdb", "100").parent
    out = tmp_path / "results.json"

    status = bench_main(["--db", str(database), "--records", "100", "101", "--out", str(out)])

    assert status == 0
    result = json.loads(out.read_text())
    assert set(result["summary"]) == {"ours", "ours-leads", "neurokit", "pantompkins1985"}
    assert result["summary"]["ours-leads"]["tp"] == result["summary"]["ours"]["tp"]  # no lead changed
    assert [row["record"] for row in result["records"]] == ["100", "101"]
    ours = result["summary"]["ours"]
    assert ours["records"] == 2 and ours["tp"] + ours["fn"] == 2273 + 1865  # the beats in 100 and 101
    assert ours["se_pct"] >= 99.9 and ours["ppv_pct"] >= 99.8
    for method in ("neurokit", "pantompkins1985"):
        assert result["summary"][method]["records"] == 2
    printed = capsys.readouterr().out
    assert "ours: Se " in printed and "neurokit: Se " in printed and "pantompkins1985: Se " in printed


def test_benchmark_leaves_out_excerpts_of_the_database_it_was_developed_on(tmp_path, capsys):
    """qtdb sel102 is MIT-BIH record 102 cut short; sel803 is from the Supraventricular
    Arrhythmia Database (Laguna et al. 1997)."""
    database = physionet_record("qtdb", "sel102").parent
    out = tmp_path / "unseen.json"
    arguments = ["--db", str(database), "--records", "sel102", "sel803", "--methods", "ours"]

    status = bench_main([*arguments, "--jobs", "1", "--exclude-source", "mitdb", "--out", str(out)])

    assert status == 0
    result = json.loads(out.read_text())
    assert [row["record"] for row in result["records"]] == ["sel803"]
    assert result["records_skipped"] == {"sel102": "excerpt of mitdb, left out (--exclude-source)"}
    assert result["excluded_sources"] == ["mitdb"]
    reference = wfdb.rdann(str(database / "sel803"), "atr")
    beats = sum(symbol in BEAT_SYMBOLS for symbol in reference.symbol)
    assert result["summary"]["ours"]["tp"] + result["summary"]["ours"]["fn"] == beats
    assert "skipped sel102: excerpt of mitdb" in capsys.readouterr().out


def test_benchmark_lists_records_without_annotations(tmp_path, capsys):
    database = physionet_record("qtdb", "sel100").parent
    physionet_record("qtdb", "sel30")  # a QT Database record without .atr beat annotations
    out = tmp_path / "qtdb.json"

    status = bench_main(
        [
            "--db",
            str(database),
            "--records",
            "sel100",
            "sel30",
            "--methods",
            "ours",
            "--jobs",
            "1",
            "--out",
            str(out),
        ]
    )

    assert status == 0
    result = json.loads(out.read_text())
    assert result["records_skipped"] == {"sel30": "no .atr annotation file"}
    assert result["records_scored"] == 1 and result["records"][0]["fs"] == 250.0
    assert "skipped sel30" in capsys.readouterr().out


# --- the detection lead checked against the record's other leads ---------------------------------


def test_a_lead_that_adds_t_and_p_waves_gives_way_to_a_lead_that_does_not():
    """qtdb sele0129 (European ST-T e0129): lead III (D3) has a small notched QRS and steep T
    waves at 40 a minute, and the detector takes P and T waves for beats there for minutes;
    V3 shows every annotated beat."""
    path = str(physionet_record("qtdb", "sele0129"))
    record = wfdb.rdrecord(path)
    reference = reference_beats(wfdb.rdann(path, "atr"))
    leads = np.nan_to_num(record.p_signal)
    assert record.sig_name == ["D3", "V3"]
    alone = detect_r_peaks(leads[:, 0], record.fs)
    assert tally(reference, alone).positive_predictivity_pct < 75.0  # the failure this guards against

    choice = r_peaks_across_leads(leads, record.fs, 0, ("D3", "V3"))

    assert choice.index == 1
    result = tally(reference, choice.peaks)
    assert result.sensitivity_pct >= 99.9 and result.positive_predictivity_pct >= 99.9
    assert choice.reason.startswith("Beats counted on lead V3:") and "lead D3" in choice.reason


def two_leads_of_mitdb_100() -> tuple[np.ndarray, np.ndarray]:
    signal, reference = mitdb_slice("100", 0.0, 300.0)
    return np.column_stack([signal, signal.copy()]), reference


def test_a_lead_that_misses_beats_does_not_replace_the_lead_that_has_them():
    """The other lead loses every 5th QRS complex (flattened): it has fewer beats, all of them
    confirmed, but its interval around each missed beat is twice its neighbours', so the
    preferred lead's extra beats are real and it stays."""
    leads, reference = two_leads_of_mitdb_100()
    half = round(0.1 * MITDB_FS)
    for beat in reference[::5]:
        leads[max(0, beat - half) : beat + half, 1] = leads[max(0, beat - half), 1]

    choice = r_peaks_across_leads(leads, MITDB_FS, 0)

    assert choice.index == 0 and choice.reason is None
    assert tally(reference, choice.peaks).sensitivity_pct >= 99.9


def test_a_lead_with_spikes_between_the_beats_gives_way():
    """The preferred lead gets a 1.5-mV spike 400 ms after every QRS complex (an artefact inside
    the steady rhythm); the untouched copy replaces it."""
    leads, reference = two_leads_of_mitdb_100()
    t = np.arange(leads.shape[0]) / MITDB_FS
    for beat in reference:
        leads[:, 0] += 1.5 * np.exp(-(((t - beat / MITDB_FS - 0.4) / 0.008) ** 2))
    assert tally(reference, detect_r_peaks(leads[:, 0], MITDB_FS)).positive_predictivity_pct < 80.0

    choice = r_peaks_across_leads(leads, MITDB_FS, 0, ("spiky", "clean"))

    assert choice.index == 1 and "lead spiky" in choice.reason
    result = tally(reference, choice.peaks)
    assert result.sensitivity_pct >= 99.9 and result.positive_predictivity_pct >= 99.9


def test_one_lead_or_agreeing_leads_keep_the_preferred_lead():
    leads, reference = two_leads_of_mitdb_100()

    for signal in (leads[:, :1], leads[:, 0], leads):
        choice = r_peaks_across_leads(signal, MITDB_FS, 0)
        assert choice.index == 0 and choice.reason is None
        np.testing.assert_array_equal(choice.peaks.samples, detect_r_peaks(leads[:, 0], MITDB_FS).samples)
