"""Benchmarks of live monitoring, against a real `python app.py` on 127.0.0.1.

    python -m dashboard.bench monitor [--beds 8] [--seconds 60] [--ingest-beds 2] [--out FILE]
    python -m dashboard.bench monitor-vf [--out FILE]
    python -m dashboard.bench monitor-vf --held-out DIR [--db VFDB] [--out FILE]
    python -m dashboard.bench monitor-vf --held-out DIR --false-alarms --db MITDB [--out FILE]
    python -m dashboard.bench monitor-vf --false-alarms --db QTDB [--out FILE]

`monitor`: (1) the wall with N replayed beds (250 Hz) in headless Chromium for `--seconds`:
updates per second of each trace (window.ecgMonitorStats) and the app server's CPU from
/proc/<pid>/stat over the same time; (2) with the wall still open, devices POST binary chunks
(50 per second per bed, 5 samples each = 250 Hz) to `--ingest-beds` beds: chunks/s accepted
per bed and latency percentiles. Writes JSON (default docs/bench-monitor.json).

`monitor-vf`: replays vfdb 418 through the live path (the CNN's VF/VT call over the last 10 s
every `dashboard.monitoring.RHYTHM_EVERY_S`, as the server does, at every phase) and reports
when the VF/VT alarm is raised relative to each annotated VF/VFL onset. Needs a validated VF/VT
call (pipeline/models/rhythm_cnn.card.json). With `--held-out DIR` every VF episode of `--db` is
replayed with the cross-validation model that never saw its record (`bench_vf_held_out`); with
`--false-alarms`, the alarms raised on strips that hold no VF or VT, per hour
(`bench_vf_false_alarms_held_out`). `--false-alarms` without `--held-out` replays, with the
shipped model, a database it never saw that labels beats rather than rhythms (the QT Database),
and counts the alarms on strips whose beats are all normal or supraventricular
(`bench_vf_false_alarms_beats`).
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

from dashboard.config import REPO_ROOT

CHROMIUM = os.environ.get("ECG_TEST_CHROMIUM", "/usr/bin/chromium")
# A fresh demo password per run: the benchmark logs in with it; none lives in the code.
PASSWORD = secrets.token_urlsafe(16)
CLK_TCK = os.sysconf("SC_CLK_TCK")


class MonitorServer:
    """`python app.py` on a fresh instance with replayed beds and device beds."""

    def __init__(
        self, port: int, replay_beds: int, device_beds: int = 0, rhythm: bool = False, hr_high_bpm: int = 140
    ):
        self.scratch = tempfile.TemporaryDirectory()
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ECG_")}
        env.update(
            ECG_INSTANCE_DIR=str(Path(self.scratch.name) / "instance"),
            ECG_PORT=str(port),
            ECG_DEMO_PASSWORD=PASSWORD,
            ECG_MONITOR_RHYTHM="true" if rhythm else "false",
            ECG_MONITOR_INGEST_RATE="200",
        )
        self.env = env
        self._cli("seed-demo")
        samples = ("mitdb-100", "mitdb-201", "mitdb-223", "mitdb-107", "mitdb-231", "vfdb-418")
        self.replay_ids = [f"bed-{i + 1}" for i in range(replay_beds)]
        for i, bed_id in enumerate(self.replay_ids):
            self._cli(
                "monitor-bed",
                "--id",
                bed_id,
                "--label",
                f"Bed {i + 1}",
                "--source",
                f"replay:{samples[i % len(samples)]}",
                "--hr-high",
                str(hr_high_bpm),
            )
        self.device_tokens: dict[str, str] = {}
        for i in range(device_beds):
            bed_id = f"dev-{i + 1}"
            self._cli("monitor-bed", "--id", bed_id, "--label", f"Device {i + 1}")
            self.device_tokens[bed_id] = self._cli("monitor-device", "--bed", bed_id).strip().splitlines()[-1]
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2)
                break
            except OSError:
                if time.time() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("the app server did not start") from None
                time.sleep(0.3)

    def _cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "dashboard", *args],
            cwd=REPO_ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime

    def restart(self) -> None:
        """Stop and start the server (its in-process buffers are lost, as in a real restart)."""
        self.process.terminate()
        self.process.wait(timeout=30)
        self.start()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.scratch.cleanup()


def open_wall(browser, server: MonitorServer, width: int = 1920, height: int = 1080):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(server.url + "/login?next=/monitor/wall")
    page.click("label[for=role-staff]")
    page.fill("#username", "staff.demo")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("[data-monitor-bed] .js-plotly-plot", timeout=60_000)
    return context, page


def ingest_load(server: MonitorServer, seconds: float, chunks_per_s: int = 50) -> dict:
    """One thread per device bed, each POSTing binary chunks at `chunks_per_s` on a keep-alive
    connection; returns chunks/s accepted per bed and latency percentiles (ms)."""
    import http.client

    from dashboard.live_ingest import encode_binary

    results: dict[str, dict] = {}

    def device(bed_id: str, token: str) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        latencies, accepted, statuses = [], 0, {}
        t = np.arange(5) / 250.0
        start = time.perf_counter()
        seq = 0
        while (now := time.perf_counter()) - start < seconds:
            body = encode_binary(seq, 250.0, 0.8 * np.sin(2 * np.pi * 1.2 * (t + seq * 0.02)))
            sent = time.perf_counter()
            connection.request(
                "POST",
                "/api/monitor/ingest",
                body=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"},
            )
            response = connection.getresponse()
            response.read()
            latencies.append((time.perf_counter() - sent) * 1000)
            statuses[response.status] = statuses.get(response.status, 0) + 1
            accepted += response.status == 202
            seq += 1
            delay = start + seq / chunks_per_s - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            del now
        elapsed = time.perf_counter() - start
        latencies.sort()
        results[bed_id] = {
            "chunks_per_s_accepted": round(accepted / elapsed, 1),
            "p50_ms": round(latencies[len(latencies) // 2], 2),
            "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
            "max_ms": round(latencies[-1], 2),
            "statuses": statuses,
        }

    threads = [threading.Thread(target=device, args=item) for item in server.device_tokens.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def bench_wall(beds: int, seconds: float, ingest_beds: int, ingest_s: float) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM_ARGS, free_port

    server = MonitorServer(free_port(), replay_beds=beds, device_beds=ingest_beds, rhythm=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context, page = open_wall(browser, server)
            time.sleep(3)  # plots mounted, first reads done
            before = page.evaluate("() => JSON.stringify(window.ecgMonitorStats)")
            cpu0, wall0 = server.cpu_s(), time.perf_counter()
            load0 = os.getloadavg()
            time.sleep(seconds)
            after = page.evaluate("() => JSON.stringify(window.ecgMonitorStats)")
            cpu_pct = 100 * (server.cpu_s() - cpu0) / (time.perf_counter() - wall0)
            load1 = os.getloadavg()
            before, after = json.loads(before), json.loads(after)
            rates = {
                bed: round((after["updates"].get(bed, 0) - before["updates"].get(bed, 0)) / seconds, 2)
                for bed in server.replay_ids
            }
            ingest = ingest_load(server, ingest_s) if ingest_beds else {}
            context.close()
            browser.close()
    finally:
        server.stop()
    return {
        "beds": beds,
        "fs_hz": 250.0,
        "seconds": seconds,
        "rhythm_cnn_on": True,  # every bed's last 10 s classified every RHYTHM_EVERY_S, as shipped
        "updates_per_s_per_trace": rates,
        "min_updates_per_s": min(rates.values()),
        "server_cpu_pct_of_one_core": round(cpu_pct, 1),
        "poll_errors": after["errors"] - before["errors"],
        "load_average_before": [round(x, 2) for x in load0],
        "load_average_after": [round(x, 2) for x in load1],
        "cpu_count": os.cpu_count(),
        "ingest_while_wall_open": ingest,
        "bars": {"updates_per_s": 10, "server_cpu_pct": 50, "ingest_chunks_per_s": 50, "ingest_p99_ms": 50},
    }


ALARM_SEARCH_S = 15.0  # an onset whose alarm has not come 15 s after it counts as not detected
BROWSER_POLL_S = 0.1  # the bed view and the wall poll every 100 ms


def _alarm_after_onset(
    is_vf_vt, signal: np.ndarray, onset_s: float, timings: list[float], step_s: float
) -> tuple[float | None, float | None]:
    """When the VF/VT alarm appears after ``onset_s``: (earliest, worst case), seconds.

    The server classifies the last 10 s of the replay (250 Hz, ``signal``) every
    `dashboard.monitoring.RHYTHM_EVERY_S` at a phase nobody chooses. The strip's end slides from
    the onset in ``step_s`` steps (a divisor of that period) up to `ALARM_SEARCH_S` after it,
    each strip called by ``is_vf_vt`` (strip -> bool; each call's time appended to
    ``timings``). *Earliest*: the first strip called VF/VT. *Worst case*: for each phase of the
    server's classifications (every step within one period), the first of its classifications
    that calls VF/VT, the latest of those over the phases, plus `BROWSER_POLL_S`; so a call that
    flickers on and off counts as the server would see it. None where no strip (earliest) or
    some phase (worst case) calls VF/VT within `ALARM_SEARCH_S`."""
    from dashboard.monitoring import REPLAY_FS, RHYTHM_EVERY_S, RHYTHM_WINDOW_S

    window = int(RHYTHM_WINDOW_S * REPLAY_FS)
    start = max(onset_s, RHYTHM_WINDOW_S)
    called: list[tuple[float, bool]] = []
    k = 0
    while (t := start + k * step_s) <= onset_s + ALARM_SEARCH_S + 1e-9 and t * REPLAY_FS <= len(signal):
        stop = int(round(t * REPLAY_FS))
        started = time.perf_counter()
        called.append((t - onset_s, bool(is_vf_vt(signal[stop - window : stop]))))
        timings.append(time.perf_counter() - started)
        k += 1
    earliest = next((round(after, 2) for after, vf_vt in called if vf_vt), None)
    phases = max(1, int(round(RHYTHM_EVERY_S / step_s)))
    worst = 0.0
    for phase in range(phases):
        first = next((after for after, vf_vt in called[phase::phases] if vf_vt), None)
        if first is None:
            return earliest, None
        worst = max(worst, first)
    return earliest, round(worst + BROWSER_POLL_S, 2)


def _cut_short(worst: float | None, onset_s: float, signal: np.ndarray) -> bool:
    """Whether an onset cannot be scored: the recording ends before every phase of the server's
    classifications raised the alarm and before `ALARM_SEARCH_S` after the onset."""
    from dashboard.monitoring import REPLAY_FS

    return worst is None and onset_s + ALARM_SEARCH_S > len(signal) / REPLAY_FS


def _held_out_records(models_dir: str, db_dir: str) -> list[tuple[str, Path, str]]:
    """(record, its path, the fold model that never saw it) for each record of ``db_dir`` held
    out by a cross-validation (``models_dir/folds.json``, `pipeline.evaluate --save-models`)."""
    held_out = json.loads((Path(models_dir) / "folds.json").read_text(encoding="utf-8"))
    database = Path(db_dir).name
    return sorted(
        (record, Path(db_dir) / record.split("/", 1)[1], name)
        for name, records in held_out.items()
        for record in records
        if record.startswith(f"{database}/")
    )


def _replayed_lead(path: Path) -> np.ndarray:
    """A record's first lead as the monitor replays it (250 Hz, `dashboard.monitoring._for_replay`)."""
    from dashboard.monitoring import _for_replay
    from pipeline.load import load_ecg

    ecg = load_ecg(str(path) + ".hea")
    return _for_replay(np.asarray(ecg.signal_mv[:, 0], dtype=np.float64), ecg.fs)


def _held_out_advisory(models_dir: str, name: str):
    """The VF/VT call of one fold model, with the card's fixed threshold."""
    from pipeline.rhythm_cnn import SHOCK_ADVISORY_THRESHOLD, CnnRhythmClassifier, ShockAdvisory

    return ShockAdvisory(CnnRhythmClassifier.load(Path(models_dir) / name), SHOCK_ADVISORY_THRESHOLD)


def _vf_vt_call(advisory):
    """strip -> whether ``advisory`` (a `pipeline.rhythm_cnn.ShockAdvisory`) calls it VF/VT."""
    from dashboard.monitoring import REPLAY_FS

    return lambda strip: advisory.assess(strip, REPLAY_FS, lead="monitor")[0]


def bench_vf(record_key: str = "vfdb-418", step_s: float = 0.1) -> dict:
    """When the live path would raise the VF/VT alarm replaying vfdb 418, per annotated VF/VFL
    episode (`_alarm_after_onset`), with the shipped model's VF/VT call.

    The shipped model was trained on 418 too: `bench_vf_held_out` is the honest figure."""
    from dashboard.ecg_records import monitor_shock_advisory
    from dashboard.monitoring import replay_signal
    from dashboard.sample_library import sample_by_key
    from pipeline.load import load_ecg
    from pipeline.rhythm_cnn import validation_shortfall

    advisory = monitor_shock_advisory()
    reason = validation_shortfall(scope="shock_advisory")
    if advisory is None:
        # The server raises no VF/VT alarm from a call its card does not validate; the shipped
        # model's call is still measured, and marked as such.
        try:
            from pipeline.rhythm_cnn import SHOCK_ADVISORY_THRESHOLD, CnnRhythmClassifier, ShockAdvisory

            advisory = ShockAdvisory(CnnRhythmClassifier.load(), SHOCK_ADVISORY_THRESHOLD)
        except Exception as exc:
            return {
                "error": f"no rhythm CNN to measure ({exc.__class__.__name__}): no VF/VT alarm without it"
            }
    ecg = load_ecg(sample_by_key(record_key).path)
    notes = ecg.annotations
    onsets = [
        sample / ecg.fs
        for sample, note in zip(notes.sample, notes.aux_note, strict=False)
        if note and note.strip("(\x00 ").upper() in ("VF", "VFL")
    ]
    signal = replay_signal(record_key)
    episodes, timings = [], []
    for onset_s in onsets:
        earliest, worst = _alarm_after_onset(_vf_vt_call(advisory), signal, onset_s, timings, step_s)
        episodes.append(
            {
                "onset_s": round(onset_s, 2),
                "earliest_alarm_after_onset_s": earliest,
                "worst_case_after_onset_s": worst,
                "scored": not _cut_short(worst, onset_s, signal),
            }
        )
    worst = [e["worst_case_after_onset_s"] for e in episodes if e["scored"]]
    return {
        "record": record_key,
        "call_validated": reason is None,
        "call_unvalidated_reason": reason,
        "threshold": advisory.threshold,
        "episodes": episodes,
        "scored": len(worst),
        "detected": sum(w is not None for w in worst),
        "within_5_s_worst_case": int(sum(w is not None and w <= 5.0 for w in worst)),
        "classify_ms_median": round(1000 * statistics.median(timings), 1) if timings else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "bar_s": 5.0,
    }


def bench_vf_held_out(models_dir: str, db_dir: str, step_s: float = 0.1) -> dict:
    """The VF/VT alarm's latency on every VF episode of a database, each record replayed through
    the live path with the VF/VT call (`pipeline.rhythm_cnn.ShockAdvisory`) of the
    cross-validation model that never saw it (``python -m pipeline.evaluate ... --save-models
    DIR``: ``DIR/folds.json`` names each fold model's held-out records).

    An episode is a stretch of VF-class labels (``(VF``, ``(VFL``) after a rhythm of another
    class; `_alarm_after_onset` as in `bench_vf`. Episodes that begin in a record's first 10 s
    (no full window before them) or that the recording's end cuts short (`_cut_short`) are not
    scored; ``sustained_5_s`` counts those lasting 5 s or more, the ones an alarm within 5 s of
    the onset can be asked of."""
    from dashboard.monitoring import REPLAY_FS
    from pipeline.rhythm_cnn import SHOCK_ADVISORY_THRESHOLD
    from pipeline.rhythm_labels import record_rhythm_segments

    episodes, timings = [], []
    for record, path, name in _held_out_records(models_dir, db_dir):
        segments = record_rhythm_segments(path)
        onsets = [
            (seg, segments[i - 1].rhythm_class if i else None)
            for i, seg in enumerate(segments)
            if seg.rhythm_class == "VF" and (i == 0 or segments[i - 1].rhythm_class != "VF")
        ]
        if not onsets:
            continue
        signal = _replayed_lead(path)
        is_vf_vt = _vf_vt_call(_held_out_advisory(models_dir, name))
        for seg, before in onsets:
            if seg.start_s < 10.0:
                continue
            earliest, worst = _alarm_after_onset(is_vf_vt, signal, seg.start_s, timings, step_s)
            if _cut_short(worst, seg.start_s, signal):
                continue
            later = [x.start_s for x in segments if x.start_s > seg.start_s and x.rhythm_class != "VF"]
            end_s = later[0] if later else len(signal) / REPLAY_FS
            episodes.append(
                {
                    "record": record,
                    "model": name,
                    "onset_s": round(seg.start_s, 2),
                    "episode_s": round(end_s - seg.start_s, 1),
                    "after": before,
                    "earliest_alarm_after_onset_s": earliest,
                    "worst_case_after_onset_s": worst,
                }
            )
    worst = [e["worst_case_after_onset_s"] for e in episodes]
    sustained = [e["worst_case_after_onset_s"] for e in episodes if e["episode_s"] >= 5.0]
    return {
        "database": str(db_dir),
        "models": str(models_dir),
        "threshold": SHOCK_ADVISORY_THRESHOLD,
        "episodes": episodes,
        "scored": len(episodes),
        "records": len({e["record"] for e in episodes}),
        "detected_within_15_s": sum(w is not None for w in worst),
        "within_5_s_worst_case": int(sum(w is not None and w <= 5.0 for w in worst)),
        "sustained_5_s": len(sustained),
        "sustained_5_s_within_5_s_worst_case": int(sum(w is not None and w <= 5.0 for w in sustained)),
        "classify_ms_median": round(1000 * statistics.median(timings), 1) if timings else None,
        "bar_s": 5.0,
    }


NEW_ALARM_AFTER_S = 60.0  # a call after a quiet minute is a new alarm; before, the banner still shows


def bench_vf_false_alarms_held_out(models_dir: str, db_dir: str) -> dict:
    """False VF/VT alarms on unseen patients: every record of ``db_dir`` that a cross-validation
    fold model never saw (``DIR/folds.json``), replayed through the live path's VF/VT call
    every `dashboard.monitoring.RHYTHM_EVERY_S`, on the 10-s strips that hold no VF or VT label
    (and no unlabelled or excluded stretch). An alarm *event* is a VF/VT call after at least
    `NEW_ALARM_AFTER_S` without one: the alarm latches until acknowledged, so the nurse sees
    one banner, not one per call. Returns the hours replayed, calls, events and events per
    hour, per record and in all."""
    from dashboard.monitoring import REPLAY_FS
    from pipeline.rhythm_labels import record_rhythm_segments

    rows = []
    for record, path, name in _held_out_records(models_dir, db_dir):
        signal = _replayed_lead(path)
        quiet = np.zeros(int(np.ceil(len(signal) / REPLAY_FS)) + 1, dtype=bool)  # per second
        for seg in record_rhythm_segments(path):
            if seg.rhythm_class is not None and seg.rhythm_class not in ("VF", "VT"):
                quiet[int(np.ceil(seg.start_s)) : int(np.floor(seg.end_s))] = True
        rows.append(
            {
                "record": record,
                "model": name,
                **_alarm_events(
                    signal,
                    lambda start_s, end_s, quiet=quiet: bool(quiet[int(start_s) : int(np.ceil(end_s))].all()),
                    _vf_vt_call(_held_out_advisory(models_dir, name)),
                ),
            }
        )
    return {"database": str(db_dir), "models": str(models_dir), **_false_alarms_summary(rows)}


def bench_vf_false_alarms_beats(db_dir: str) -> dict:
    """False VF/VT alarms of the shipped model on a database it never saw that labels beats, not
    rhythms (the QT Database, say): each record replayed through the live path's VF/VT call as in
    `bench_vf_false_alarms_held_out`, on the 10-s strips whose annotated beats are all normal or
    supraventricular (`pipeline.beat_reference`: not VF, not VT). Records excerpted from the
    model's training databases are left out (`pipeline.physionet_sources.record_source`)."""
    import wfdb

    from pipeline.beat_reference import SUPRAVENTRICULAR, window_beat_categories
    from pipeline.evaluate_external import trained_on
    from pipeline.physionet_sources import record_source
    from pipeline.rhythm_cnn import (
        DEFAULT_CARD_PATH,
        DEFAULT_MODEL_PATH,
        SHOCK_ADVISORY_THRESHOLD,
        CnnRhythmClassifier,
        ShockAdvisory,
    )

    folder = Path(db_dir)
    excluded = trained_on(Path(DEFAULT_CARD_PATH))
    is_vf_vt = _vf_vt_call(
        ShockAdvisory(CnnRhythmClassifier.load(DEFAULT_MODEL_PATH), SHOCK_ADVISORY_THRESHOLD)
    )
    rows, left_out = [], {}
    for header in sorted(folder.glob("*.hea")):
        path = header.with_suffix("")
        source = record_source(folder.resolve().name, path.name)
        if source in excluded or not path.with_suffix(".atr").is_file():
            left_out[path.name] = f"from {source}, a training database" if source in excluded else "no .atr"
            continue
        annotation = wfdb.rdann(str(path), "atr")
        times_s = np.asarray(annotation.sample, dtype=np.float64) / float(annotation.fs)
        symbols = np.asarray(annotation.symbol)

        def sinus(start_s: float, end_s: float, times_s=times_s, symbols=symbols) -> bool:
            categories = window_beat_categories(times_s, symbols, np.array([start_s]), end_s - start_s)
            return categories[0] == SUPRAVENTRICULAR

        rows.append(
            {"record": path.name, "source": source, **_alarm_events(_replayed_lead(path), sinus, is_vf_vt)}
        )
    return {
        "database": str(db_dir),
        "model": str(Path(DEFAULT_MODEL_PATH).relative_to(REPO_ROOT)),
        "strips_scored": "10-s strips whose annotated beats are all normal or supraventricular",
        "left_out": left_out,
        **_false_alarms_summary(rows),
    }


def _alarm_events(signal: np.ndarray, scored, is_vf_vt) -> dict:
    """The live path's VF/VT call on ``signal`` (at `dashboard.monitoring.REPLAY_FS`) every
    `dashboard.monitoring.RHYTHM_EVERY_S` over the last 10 s, on the strips (start s, end s) that
    ``scored`` accepts: strips, calls, and alarm events (a call after `NEW_ALARM_AFTER_S` without one)."""
    from dashboard.monitoring import REPLAY_FS, RHYTHM_EVERY_S, RHYTHM_WINDOW_S

    window = int(RHYTHM_WINDOW_S * REPLAY_FS)
    strips, called_at = 0, []
    t = RHYTHM_WINDOW_S
    while t * REPLAY_FS <= len(signal):
        if scored(t - RHYTHM_WINDOW_S, t):
            stop = int(round(t * REPLAY_FS))
            strips += 1
            if is_vf_vt(signal[stop - window : stop]):
                called_at.append(t)
        t += RHYTHM_EVERY_S
    events = sum(1 for i, at in enumerate(called_at) if i == 0 or at - called_at[i - 1] >= NEW_ALARM_AFTER_S)
    return {"strips": strips, "called": len(called_at), "events": events}


def _false_alarms_summary(rows: list[dict]) -> dict:
    """The per-record rows of `_alarm_events` and their totals: hours, calls, events per hour."""
    from dashboard.monitoring import RHYTHM_EVERY_S
    from pipeline.rhythm_cnn import SHOCK_ADVISORY_THRESHOLD

    hours = sum(r["strips"] for r in rows) * RHYTHM_EVERY_S / 3600.0
    events = sum(r["events"] for r in rows)
    return {
        "threshold": SHOCK_ADVISORY_THRESHOLD,
        "every_s": RHYTHM_EVERY_S,
        "records": rows,
        "hours": round(hours, 2),
        "strips": sum(r["strips"] for r in rows),
        "called": sum(r["called"] for r in rows),
        "events": events,
        "events_per_hour": round(events / hours, 3) if hours else None,
        "records_with_events": sum(r["events"] > 0 for r in rows),
    }


def main(args) -> int:
    if args.command == "monitor-vf" and getattr(args, "false_alarms", False) and not args.held_out:
        result = bench_vf_false_alarms_beats(args.db)
    elif args.command == "monitor-vf" and getattr(args, "false_alarms", False):
        result = bench_vf_false_alarms_held_out(args.held_out, args.db)
    elif args.command == "monitor-vf" and getattr(args, "held_out", None):
        result = bench_vf_held_out(args.held_out, args.db)
    elif args.command == "monitor-vf":
        result = bench_vf()
    else:
        result = bench_wall(args.beds, args.seconds, args.ingest_beds, args.ingest_seconds)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2, default=float) + "\n")
    print(json.dumps(result, indent=2, default=float))
    return 0
