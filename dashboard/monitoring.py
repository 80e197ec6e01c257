"""Live monitoring: beds, device tokens, ingest, replay, vital signs and alarms.

The use cases behind the bed view, the monitor wall and the device ingest route. Samples live
in a `dashboard.live_buffer` store (in-process or Redis); beds, devices and alarm events in the
database. Nothing here builds a Dash component.

Vital signs are evaluated at most once a second per bed (whichever worker polls first) from
the last 10 s of the bed's buffer:

* signal lost — no chunk for `SIGNAL_LOST_AFTER_S`: a technical alarm (raised ≤ 3 s after
  the last chunk, as checks run every second);
* lead off — the quality check's "lead off" in the last window: a technical state, no
  rhythm or asystole call;
* heart rate — from the R peaks (pipeline.qrs) of the last 10 s; "HR high/low" when outside
  the bed's limits;
* asystole — no QRS for ≥ 4 s while the lead is on;
* rhythm — the CNN over the last 10 s, every second (`RHYTHM_EVERY_S`: at every check; every 2 s
  before, which left the VF/VT alarm up to a second later). Its VF/VT call (P(VF) + P(VT) at or above
  the threshold of its card: `pipeline.rhythm_cnn.ShockAdvisory`) raises the one "VF/VT" alarm,
  as bedside monitors raise one "VFib/VTach" alarm: the model tells VF from VT poorly, the two
  from every other rhythm well. The call is used once the model's card validates it on unseen
  patients (its three shock-advisory bars), the rhythm's name only once the card validates every
  rhythm; until then the tile says "no VF/VT" or "VF/VT" and why the rest is not classified.
  Without a validated call there is no VF/VT alarm: no other VF/VT detector is substituted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from sqlalchemy import select

from dashboard import audit
from dashboard.audit import Actor, utcnow
from dashboard.db import Database
from dashboard.live_ingest import ChunkRefused, parse_chunk
from dashboard.models import EcgRecording, MonitorAlarm, MonitorBed, MonitorDevice, PatientProfile
from dashboard.sample_library import sample_by_key

log = logging.getLogger("dashboard.monitoring")

SIGNAL_LOST_AFTER_S = 2.0  # checked every second: the alarm shows 2–3 s after the last chunk
ASYSTOLE_S = 4.0  # no QRS for ≥ 4 s
VITALS_EVERY_S = 1.0
RHYTHM_EVERY_S = 1.0  # the VF/VT call over the last 10 s, at each vitals check
RHYTHM_WINDOW_S = 10.0
FIRST_READ_S = 8.0  # what a newly opened trace receives
VITALS_WINDOW_S = 10.0
# The strip stored with an alarm: the 10 s before its detection, completed with the 5 s after.
STRIP_BEFORE_S, STRIP_AFTER_S = 10.0, 5.0
REPLAY_FS = 250.0  # replays are resampled to a bedside monitor's rate
TOKEN_CACHE_S = 5.0  # a revoked token is refused within this time
LETHAL = ("vf_vt", "asystole")  # latching: they stay on the banner until acknowledged
ALARM_KINDS = ("vf_vt", "asystole", "hr_high", "hr_low", "signal_lost")
TOKEN_PREFIX = "ecgdev_"


class MonitorError(ValueError):
    """A monitoring request that cannot be done; the message is for the user."""


class BedAccessDenied(PermissionError):
    pass


@dataclass(frozen=True)
class BedInfo:
    bed_id: str
    label: str
    patient_id: str | None
    patient_name: str | None
    source: str
    hr_low_bpm: int
    hr_high_bpm: int


@dataclass(frozen=True)
class IngestOutcome:
    status: int
    body: dict


def token_digest(token: str) -> str:
    """SHA-256 of a device token: the token is 256 random bits, so a fast hash is enough
    (no dictionary to guess from) and lets each chunk be checked in microseconds."""
    return hashlib.sha256(token.encode()).hexdigest()


def may_see_bed(actor: Actor, bed: MonitorBed, patient: PatientProfile | None) -> bool:
    """Staff and admins see every bed (as they see every patient); a doctor sees the beds of
    their own patients and beds with no patient assigned (e.g. demo replays)."""
    if actor.role in ("staff", "admin"):
        return True
    if actor.role == "doctor":
        return patient is None or patient.doctor_id == actor.account_id
    return False


class LiveMonitor:
    """The monitoring use cases of one app (shared by every request of the process)."""

    def __init__(
        self,
        database: Database,
        store,
        *,
        classifier: Callable[[], object | None],
        unclassified_reason: Callable[[], str | None] = lambda: None,
        shock_advisory: Callable[[], object | None] = lambda: None,
        ingest_rate_per_s: int = 100,
        recordings_dir: Path | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.database = database
        self.store = store
        self.classifier = classifier
        self.unclassified_reason = unclassified_reason
        self.shock_advisory = shock_advisory
        self.ingest_rate_per_s = ingest_rate_per_s
        self.recordings_dir = recordings_dir
        self.clock = clock
        self._tokens: dict[str, tuple[float, str | None, str | None]] = {}
        self._beds: dict[tuple, tuple[float, list[BedInfo]]] = {}
        self._rhythm_ready = threading.Event()
        self._rhythm_loading = threading.Lock()
        self._rhythm_loader: threading.Thread | None = None

    # --- Beds and devices (admin) -----------------------------------------------------------

    def create_bed(
        self,
        actor: Actor,
        bed_id: str,
        label: str,
        *,
        patient_id: str | None = None,
        source: str = "device",
        hr_low_bpm: int = 40,
        hr_high_bpm: int = 140,
    ) -> BedInfo:
        bed_id = (bed_id or "").strip()
        if not bed_id or len(bed_id) > 32 or not all(c.isalnum() or c in "-_" for c in bed_id):
            raise MonitorError("A bed ID is 1–32 letters, digits, '-' or '_'.")
        kind, _, key = source.partition(":")
        if not (source == "device" or (kind == "replay" and sample_by_key(key)) or kind == "recording"):
            raise MonitorError(
                "The source is 'device', 'replay:<sample key>' of the sample library or "
                "'recording:<recording ID>' of a patient's stored recording."
            )
        if not 20 <= hr_low_bpm < hr_high_bpm <= 300:
            raise MonitorError("HR limits must satisfy 20 ≤ low < high ≤ 300 bpm.")
        with self.database.transaction() as db:
            if db.get(MonitorBed, bed_id) is not None:
                raise MonitorError(f"Bed {bed_id} exists already.")
            if kind == "recording":
                # A patient's recording is replayed only on that patient's bed, so that who
                # may see the bed is who may see the recording.
                recording = db.get(EcgRecording, key[:32])
                if recording is None or (patient_id and recording.patient_id != patient_id):
                    raise MonitorError("No recording of this patient has this recording ID.")
                patient_id = recording.patient_id
            if patient_id and db.get(PatientProfile, patient_id) is None:
                raise MonitorError("No patient has this Patient ID.")
            db.add(
                MonitorBed(
                    bed_id=bed_id,
                    label=(label or bed_id)[:80],
                    patient_id=patient_id or None,
                    source=source,
                    hr_low_bpm=hr_low_bpm,
                    hr_high_bpm=hr_high_bpm,
                    created_at=utcnow(),
                )
            )
            audit.record(db, actor, "monitor_bed_created", patient_id=patient_id or None, target=bed_id)
        self._beds.clear()
        return BedInfo(bed_id, label or bed_id, patient_id or None, None, source, hr_low_bpm, hr_high_bpm)

    def create_device(self, actor: Actor, bed_id: str, label: str) -> tuple[str, str]:
        """A new device token for a bed: (device_id, token). The token is shown only now."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        device_id = secrets.token_hex(8)
        with self.database.transaction() as db:
            if db.get(MonitorBed, bed_id) is None:
                raise MonitorError(f"There is no bed {bed_id}.")
            db.add(
                MonitorDevice(
                    device_id=device_id,
                    bed_id=bed_id,
                    token_sha256=token_digest(token),
                    label=(label or device_id)[:80],
                    created_at=utcnow(),
                    created_by=str(actor.account_id)[:255],
                )
            )
            audit.record(db, actor, "monitor_device_created", target=f"{bed_id}/{device_id}")
        return device_id, token

    def revoke_device(self, actor: Actor, device_id: str) -> None:
        with self.database.transaction() as db:
            device = db.get(MonitorDevice, device_id)
            if device is None:
                raise MonitorError("There is no such device.")
            device.revoked_at = device.revoked_at or utcnow()
            audit.record(db, actor, "monitor_device_revoked", target=f"{device.bed_id}/{device_id}")
        self._tokens.clear()

    def devices(self) -> list[MonitorDevice]:
        with self.database.transaction() as db:
            rows = list(db.scalars(select(MonitorDevice).order_by(MonitorDevice.bed_id)))
            db.expunge_all()
            return rows

    def admin_overview(self) -> list[dict]:
        """Per bed: its devices and the stream's counters (accepted, duplicate, malformed...)."""
        beds = self.all_beds()
        devices = self.devices()
        rows = []
        for bed in beds:
            counters = self.store.counters(bed.bed_id)
            rows.append(
                {
                    "bed_id": bed.bed_id,
                    "label": bed.label,
                    "source": bed.source,
                    "devices": sum(1 for d in devices if d.bed_id == bed.bed_id and d.revoked_at is None),
                    **{name: counters.get(name, 0) for name in COUNTERS},
                }
            )
        unknown = self.store.counters("_unknown")
        rows.append(
            {
                "bed_id": "(no valid token)",
                "label": "",
                "source": "",
                "devices": 0,
                **{name: unknown.get(name, 0) for name in COUNTERS},
            }
        )
        return rows

    # --- Who sees which bed ---------------------------------------------------------------

    def all_beds(self) -> list[BedInfo]:
        with self.database.transaction() as db:
            return [self._info(bed, patient) for bed, patient in self._bed_rows(db)]

    def visible_beds(self, actor: Actor) -> list[BedInfo]:
        key = (actor.role, actor.account_id)
        cached = self._beds.get(key)
        now = self.clock()
        if cached and now - cached[0] < 5.0:
            return cached[1]
        with self.database.transaction() as db:
            beds = [self._info(b, p) for b, p in self._bed_rows(db) if may_see_bed(actor, b, p)]
        self._beds[key] = (now, beds)
        return beds

    def open_bed(self, actor: Actor, bed_id: str) -> BedInfo:
        bed = next((b for b in self.visible_beds(actor) if b.bed_id == bed_id), None)
        if bed is None:
            with self.database.transaction() as db:
                audit.record(db, actor, "access_denied", outcome="denied", target=f"bed {str(bed_id)[:40]}")
            raise BedAccessDenied("This bed does not exist or is not one you may see.")
        return bed

    @staticmethod
    def _bed_rows(db):
        return db.execute(
            select(MonitorBed, PatientProfile)
            .outerjoin(PatientProfile, PatientProfile.patient_id == MonitorBed.patient_id)
            .order_by(MonitorBed.bed_id)
        ).all()

    @staticmethod
    def _info(bed: MonitorBed, patient: PatientProfile | None) -> BedInfo:
        return BedInfo(
            bed.bed_id,
            bed.label,
            bed.patient_id,
            patient.name if patient else None,
            bed.source,
            bed.hr_low_bpm,
            bed.hr_high_bpm,
        )

    # --- Ingest (devices) -----------------------------------------------------------------

    def ingest(self, authorization: str | None, body: bytes, content_type: str | None) -> IngestOutcome:
        """One chunk from a device: 202 accepted; 401 token; 429 flood; 400/413/415/422 bad
        chunk; 409 duplicate or out-of-order sequence number. Each refusal is counted."""
        token = (authorization or "")[7:].strip() if (authorization or "").startswith("Bearer ") else ""
        device_id, bed_id = self._device_for(token)
        if bed_id is None:
            self.store.count("_unknown", "bad_token")
            return IngestOutcome(401, {"error": "Unknown or revoked device token."})
        if not self.store.take_rate(device_id, self.ingest_rate_per_s, self.clock()):
            self.store.count(bed_id, "rate_limited")
            return IngestOutcome(
                429, {"error": f"More than {self.ingest_rate_per_s} chunks per second; slow down."}
            )
        try:
            chunk = parse_chunk(body, content_type)
        except ChunkRefused as refused:
            self.store.count(bed_id, refused.counter)
            return IngestOutcome(refused.status, {"error": str(refused)})
        result = self.store.append(bed_id, chunk.fs, chunk.seq, chunk.samples_mv, self.clock())
        if not result.accepted:
            return IngestOutcome(
                409, {"error": "Duplicate or out-of-order sequence number; chunk ignored.", "seq": chunk.seq}
            )
        return IngestOutcome(202, {"accepted": True, "seq": chunk.seq, "end_index": result.end_index})

    def _device_for(self, token: str) -> tuple[str | None, str | None]:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
            return None, None
        digest = token_digest(token)
        now = self.clock()
        cached = self._tokens.get(digest)
        if cached and now - cached[0] < TOKEN_CACHE_S:
            return cached[1], cached[2]
        with self.database.transaction() as db:
            device = db.scalar(select(MonitorDevice).where(MonitorDevice.token_sha256 == digest))
            found = (None, None)
            if device is not None:
                if device.revoked_at is None:
                    found = (device.device_id, device.bed_id)
                else:
                    self.store.count(device.bed_id, "revoked_token")
        if len(self._tokens) > 10000:
            self._tokens.clear()
        self._tokens[digest] = (now, *found)
        return found

    # --- Replay (the demo source) ------------------------------------------------------------

    def pump_replay(self, bed: BedInfo) -> None:
        """Append the replayed samples that are due by now. The sequence number is the sample
        index on the wall clock, so concurrent pumps (workers) refuse each other's repeats and
        the replay stays in real time across restarts."""
        kind, _, key = bed.source.partition(":")
        if kind == "replay":
            signal = replay_signal(key)
        elif kind == "recording" and self.recordings_dir is not None:
            signal = self._recording_signal(key)
        else:
            return
        if signal is None:
            return
        target = int(self.clock() * REPLAY_FS)
        last = self.store.read(bed.bed_id, 0, max_samples=0).last_seq
        if last < 0 or target - last > REPLAY_FS * 10:
            last = target - int(REPLAY_FS * FIRST_READ_S)
        if target - last < REPLAY_FS * 0.02:
            return
        positions = np.arange(last, target) % len(signal)
        self.store.append(bed.bed_id, REPLAY_FS, target, signal[positions], self.clock())

    def _recording_signal(self, recording_id: str) -> np.ndarray | None:
        with self.database.transaction() as db:
            recording = db.get(EcgRecording, recording_id[:32])
            stored_name = recording.stored_name if recording else None
        if stored_name is None:
            return None
        return stored_recording_signal(str(self.recordings_dir / stored_name))

    # --- Reading (bed view and wall) ------------------------------------------------------

    def feed(self, actor: Actor, cursors: dict[str, int]) -> dict:
        """New samples since each cursor, with each bed's vital signs and open alarms.

        `cursors` maps bed IDs to the index one past the last sample the browser has; -1 (or
        a cursor past the buffer's end, after a server restart) gets the last 8 s and
        `reset: true`. Beds the user may not see are left out (and not named)."""
        visible = {bed.bed_id: bed for bed in self.visible_beds(actor)}
        beds = []
        for bed_id, cursor in list(cursors.items())[:16]:
            bed = visible.get(bed_id)
            if bed is None:
                continue
            self.pump_replay(bed)
            if self.store.run_once(f"vitals:{bed_id}", VITALS_EVERY_S, self.clock()):
                self.evaluate(bed)
            read = self.store.read(bed_id, 0, max_samples=0)
            reset = cursor < 0 or cursor > read.end_index
            if read.fs is None:
                samples, start, end = [], 0, 0
            else:
                since = read.end_index - int(read.fs * FIRST_READ_S) if reset else cursor
                part = self.store.read(bed_id, since, max_samples=int(read.fs * FIRST_READ_S))
                reset = reset or part.start_index > cursor
                samples = np.round(part.samples.astype(np.float64), 3).tolist()
                start, end = part.start_index, part.end_index
            beds.append(
                {
                    "bed_id": bed_id,
                    "label": bed.label,
                    "patient": bed.patient_name,
                    "fs": read.fs,
                    "start": start,
                    "end": end,
                    "reset": reset,
                    "samples": samples,
                    "vitals": self.store.get_json(f"vitals:{bed_id}") or asdict(Vitals.waiting()),
                }
            )
        return {"now": self.clock(), "beds": beds}

    # --- Vital signs and alarms -------------------------------------------------------------

    def evaluate(self, bed: BedInfo) -> Vitals:
        """Check one bed now: vital signs, alarms raised or cleared; cached for readers."""
        now = self.clock()
        meta = self.store.read(bed.bed_id, 0, max_samples=0)
        keep = int((STRIP_BEFORE_S + STRIP_AFTER_S) * meta.fs) if meta.fs else 0
        read = self.store.read(bed.bed_id, 0, max_samples=keep)
        prior = self.store.get_json(f"vitals:{bed.bed_id}") or {}
        conditions: dict[str, str] = {}
        hr = None
        state, quality = "waiting", None
        live = LiveRhythm(
            prior.get("rhythm"),
            prior.get("rhythm_probability"),
            prior.get("rhythm_note") or "rhythm not classified",
            bool(prior.get("vf_vt")),
            prior.get("vf_vt_probability"),
        )
        if read.fs is not None and read.last_chunk_at is not None:
            fs = read.fs
            x = read.samples[-int(VITALS_WINDOW_S * fs) :].astype(np.float64)
            if now - read.last_chunk_at >= SIGNAL_LOST_AFTER_S:
                state = "signal_lost"
                conditions["signal_lost"] = f"Signal lost: no data for {now - read.last_chunk_at:.0f} s"
            else:
                state, quality, hr, beat_gap_s = _vitals_of(x, fs)
                if state == "ok":
                    if beat_gap_s is not None and beat_gap_s >= ASYSTOLE_S and len(x) >= ASYSTOLE_S * fs:
                        conditions["asystole"] = f"Asystole: no QRS for {beat_gap_s:.0f} s"
                        hr = 0.0
                    elif hr is not None and hr > bed.hr_high_bpm:
                        conditions["hr_high"] = f"HR high: {hr:.0f} bpm (limit {bed.hr_high_bpm})"
                    elif hr is not None and hr < bed.hr_low_bpm:
                        conditions["hr_low"] = f"HR low: {hr:.0f} bpm (limit {bed.hr_low_bpm})"
                    if self.store.run_once(f"rhythm:{bed.bed_id}", RHYTHM_EVERY_S, now):
                        live = self._classify(x, fs)
                    if live.vf_vt:
                        conditions["vf_vt"] = (
                            "VF/VT: ventricular fibrillation or tachycardia "
                            f"(p = {live.vf_vt_probability:.2f})"
                        )
                else:
                    live = LiveRhythm(None, None, live.note, False, None)
        alarms = self._update_alarms(bed, conditions, read)
        vitals = Vitals(
            state=state,
            quality=quality,
            hr_bpm=None if hr is None else round(hr),
            rhythm=live.label,
            rhythm_probability=None if live.probability is None else round(float(live.probability), 2),
            rhythm_note=live.note if live.label is None else None,
            vf_vt=live.vf_vt,
            vf_vt_probability=None if live.vf_vt_probability is None else round(live.vf_vt_probability, 2),
            alarms=alarms,
            checked_at=now,
        )
        self.store.put_json(f"vitals:{bed.bed_id}", asdict(vitals))
        return vitals

    def load_rhythm_models(self) -> None:
        """Load the rhythm CNN (TensorFlow and the weights: seconds) now; `_classify` uses it
        only once this has run, in the background after the first poll that needs it."""
        try:
            self.classifier()
            self.shock_advisory()
        finally:
            self._rhythm_ready.set()

    def _rhythm_models_ready(self) -> bool:
        """Whether the CNN is loaded; if not, start loading it in a background thread, so that
        no poll of the wall waits seconds for TensorFlow."""
        if self._rhythm_ready.is_set():
            return True
        with self._rhythm_loading:
            if self._rhythm_loader is None:
                self._rhythm_loader = threading.Thread(
                    target=self.load_rhythm_models, name="rhythm-models", daemon=True
                )
                self._rhythm_loader.start()
        return False

    def _classify(self, x: np.ndarray, fs: float) -> LiveRhythm:
        """The CNN on the last 10 s: the rhythm where every call is validated, else the VF/VT call
        alone where that is (see the module docstring)."""
        if not self._rhythm_models_ready():
            return LiveRhythm(None, None, "rhythm: loading the classifier", False, None)
        classifier, advisory = self.classifier(), self.shock_advisory()
        reason = self.unclassified_reason()
        if classifier is None and advisory is None:
            note = "rhythm not classified" + (f": {reason}" if reason else " (no classifier)")
            return LiveRhythm(None, None, note, False, None)
        if len(x) < RHYTHM_WINDOW_S * fs:
            return LiveRhythm(None, None, "rhythm: waiting for 10 s of signal", False, None)
        strip = x[-int(RHYTHM_WINDOW_S * fs) :]
        try:
            if advisory is not None:
                vf_vt, vf_vt_p, result = advisory.assess(strip, fs, lead="monitor")
            else:  # the rhythm names without a validated VF/VT call: no VF/VT alarm
                result = classifier.classify(strip, fs, lead="monitor")
                vf_vt, vf_vt_p = False, None
        except Exception:
            log.exception("live rhythm classification failed")
            return LiveRhythm(None, None, "rhythm not classified (classifier error)", False, None)
        if classifier is not None:
            return LiveRhythm(result.label, float(result.confidence), "", vf_vt, vf_vt_p)
        if vf_vt:
            return LiveRhythm("VF/VT", vf_vt_p, "", True, vf_vt_p)
        note = "no VF/VT; other rhythms not classified" + (f": {reason}" if reason else "")
        return LiveRhythm(None, None, note, False, vf_vt_p)

    def _update_alarms(self, bed: BedInfo, conditions: dict[str, str], read) -> list[dict]:
        """Raise the new conditions (with their strip), clear the ended ones; the banner's list."""
        with self.database.transaction() as db:
            rows = list(
                db.scalars(
                    select(MonitorAlarm).where(
                        MonitorAlarm.bed_id == bed.bed_id,
                        (MonitorAlarm.cleared_at.is_(None)) | (MonitorAlarm.acknowledged_at.is_(None)),
                    )
                )
            )
            open_kinds = {row.kind for row in rows if row.cleared_at is None}
            for row in rows:
                _complete_strip(row, read)
            for row in rows:
                if row.cleared_at is None and row.kind not in conditions:
                    row.cleared_at = utcnow()
            for kind, message in conditions.items():
                if kind not in open_kinds:
                    row = MonitorAlarm(
                        bed_id=bed.bed_id,
                        kind=kind,
                        message=message[:255],
                        raised_at=utcnow(),
                        strip_json=json.dumps(_strip(read)),
                    )
                    db.add(row)
                    rows.append(row)
            db.flush()
            return [
                {
                    "id": row.alarm_id,
                    "kind": row.kind,
                    "message": row.message,
                    "raised_at": row.raised_at.isoformat(timespec="seconds") + "Z",
                    "active": row.cleared_at is None,
                }
                for row in rows
                if row.acknowledged_at is None and (row.cleared_at is None or row.kind in LETHAL)
            ]

    def alarms(self, actor: Actor, bed_id: str, limit: int = 20) -> list[MonitorAlarm]:
        self.open_bed(actor, bed_id)
        with self.database.transaction() as db:
            rows = list(
                db.scalars(
                    select(MonitorAlarm)
                    .where(MonitorAlarm.bed_id == bed_id)
                    .order_by(MonitorAlarm.raised_at.desc(), MonitorAlarm.alarm_id.desc())
                    .limit(limit)
                )
            )
            db.expunge_all()
            return rows

    def acknowledge(self, actor: Actor, alarm_id: int) -> MonitorAlarm:
        """Record who acknowledged the alarm, and when (audited); the banner drops it."""
        with self.database.transaction() as db:
            alarm = db.get(MonitorAlarm, alarm_id)
            if alarm is None:
                raise MonitorError("There is no such alarm.")
        bed = self.open_bed(actor, alarm.bed_id)
        with self.database.transaction() as db:
            alarm = db.get(MonitorAlarm, alarm_id)
            if alarm.acknowledged_at is None:
                alarm.acknowledged_at = utcnow()
                alarm.acknowledged_by_role = actor.role
                alarm.acknowledged_by_id = actor.account_id
                audit.record(
                    db,
                    actor,
                    "acknowledge_alarm",
                    patient_id=bed.patient_id,
                    target=f"bed {bed.bed_id} alarm {alarm_id}",
                    detail={"kind": alarm.kind, "message": alarm.message},
                )
            db.flush()
            db.expunge(alarm)
        self.store.put_json(f"vitals:{bed.bed_id}", None)  # re-checked at the next poll
        return alarm


COUNTERS = ("accepted", "duplicate", "malformed", "nan", "rate_limited", "revoked_token", "bad_token")


@dataclass(frozen=True)
class LiveRhythm:
    """What the CNN said of a bed's last 10 s, as the tile shows it."""

    label: str | None  # the rhythm, "VF/VT" where only that call is validated, or None
    probability: float | None
    note: str  # why there is no label
    vf_vt: bool  # the validated VF/VT call: the alarm
    vf_vt_probability: float | None  # P(VF) + P(VT)


@dataclass(frozen=True)
class Vitals:
    state: str  # "ok", "lead_off", "noisy", "signal_lost", "waiting"
    quality: str | None
    hr_bpm: int | None
    rhythm: str | None
    rhythm_probability: float | None
    rhythm_note: str | None
    alarms: list[dict]
    checked_at: float
    vf_vt: bool = False
    vf_vt_probability: float | None = None

    @classmethod
    def waiting(cls) -> Vitals:
        return cls("waiting", None, None, None, None, "rhythm not classified", [], 0.0)


def _vitals_of(x: np.ndarray, fs: float) -> tuple[str, str | None, float | None, float | None]:
    """(state, quality, heart rate in bpm, seconds since the last QRS) of the last 10 s."""
    from pipeline.qrs import detect_r_peaks
    from pipeline.quality import LEAD_OFF, signal_quality

    if len(x) < 2 * fs:
        return "ok", None, None, None
    windows = signal_quality(x[-int(10 * fs) :], fs, window_s=10.0)
    last = windows[-1] if windows else None
    if last is not None and last.reason == LEAD_OFF:
        return "lead_off", "lead off", None, None
    quality = "good" if last is None or last.usable else (last.reason or "poor")
    try:
        peaks = np.asarray(detect_r_peaks(x, fs).samples)
    except Exception:
        log.exception("live R-peak detection failed")
        return "noisy", quality, None, None
    gap_s = (len(x) - (peaks[-1] if peaks.size else 0)) / fs
    if peaks.size < 2:
        return "ok", quality, None, gap_s
    rr_s = np.diff(peaks[-9:]) / fs
    return "ok", quality, 60.0 / float(np.median(rr_s)), gap_s


def _strip(read, detected_index: int | None = None) -> dict:
    """The samples from STRIP_BEFORE_S before the detection to (at most) STRIP_AFTER_S after."""
    fs = read.fs or 0.0
    detected = read.end_index if detected_index is None else detected_index
    first = max(read.start_index, detected - int(STRIP_BEFORE_S * fs))
    last = min(read.end_index, detected + int(STRIP_AFTER_S * fs))
    samples = read.samples[first - read.start_index : last - read.start_index]
    return {
        "fs": fs,
        "start_index": first,
        "detected_index": detected,
        "complete": last >= detected + int(STRIP_AFTER_S * fs),
        "samples_mv": np.round(samples.astype(np.float64), 3).tolist(),
    }


def _complete_strip(row: MonitorAlarm, read) -> None:
    """Once STRIP_AFTER_S have arrived since the detection, store the whole strip."""
    if read.fs is None:
        return
    strip = json.loads(row.strip_json)
    detected = strip.get("detected_index")
    if strip.get("complete") or detected is None or strip.get("fs") != read.fs:
        return
    if read.end_index >= detected + int(STRIP_AFTER_S * read.fs) or row.cleared_at is not None:
        row.strip_json = json.dumps(_strip(read, detected))


@lru_cache(maxsize=8)
def replay_signal(sample_key: str) -> np.ndarray | None:
    """A sample-library record's first lead at REPLAY_FS, baseline removed, float32 (cached)."""
    from pipeline.load import load_ecg

    sample = sample_by_key(sample_key)
    if sample is None:
        return None
    ecg = load_ecg(sample.path)
    return _for_replay(np.asarray(ecg.signal_mv[:, 0], dtype=np.float64), ecg.fs)


@lru_cache(maxsize=8)
def stored_recording_signal(path: str) -> np.ndarray | None:
    """A patient's stored recording (its generated file name, never an upload's) for replay."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            lead, fs = np.asarray(stored["signal_mv"][:, 0], dtype=np.float64), float(stored["fs"])
    except (OSError, KeyError, ValueError):
        log.exception("a stored recording could not be read for replay")
        return None
    if not np.all(np.isfinite(lead)) or len(lead) < 10 * fs:
        return None
    return _for_replay(lead, fs)


def _for_replay(lead: np.ndarray, fs: float) -> np.ndarray:
    from scipy.signal import resample_poly

    from pipeline.clean import ecg_remove_baseline

    lead = ecg_remove_baseline(lead, fs)
    if fs != REPLAY_FS:
        from fractions import Fraction

        ratio = Fraction(REPLAY_FS / fs).limit_denominator(1000)
        lead = resample_poly(lead, ratio.numerator, ratio.denominator)
    return np.clip(lead, -19.0, 19.0).astype(np.float32)
