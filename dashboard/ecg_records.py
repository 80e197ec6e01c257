"""ECG recordings: taking an upload or a sample, analysing it, storing it for its patient.

An analysis runs in two steps, because the second runs in a background worker with no request:

1. `start_analysis` (in the request of the doctor who clicked Analyse): checks the doctor may see
   the patient, decodes the uploaded files into a fresh staging folder under
   instance/uploads/ with GENERATED names (an upload's own name is never a path: a WFDB record
   in several files is packed into a zip, whose reader renames every member), and returns a
   ticket signed with the server's secret key naming the job, the doctor and the patient.
2. `run_analysis` (in the worker): checks the ticket, loads the file (`pipeline.load.load_ecg`),
   analyses it (`pipeline.analysis.analyze`, reporting its real steps), then stores the signal
   as instance/recordings/<generated id>.npz and an `ecg_recording` row with the Analysis JSON
   and an audit row, in one transaction. A file that cannot be read or analysed stores nothing.

`rhythm_classifier()` is the one place where the rhythm classifier is obtained.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import shutil
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

import numpy as np
from itsdangerous import BadSignature, URLSafeTimedSerializer

from dashboard import audit
from dashboard.audit import Actor, utcnow
from dashboard.config import Settings
from dashboard.db import Database
from dashboard.models import EcgRecording
from dashboard.patients import check_patient_access
from dashboard.sample_library import sample_by_key
from pipeline.errors import EcgError, EcgFormatError, EcgTooLargeError

log = logging.getLogger("dashboard")

ANALYSE_ROLES = ("doctor",)
TICKET_MAX_AGE_S = 3600
# A share of the progress bar for each part of the job; analyze() reports its own steps between.
LOAD_SHARE, STORE_SHARE = 0.10, 0.05
SINGLE_FILE_SUFFIXES = {".zip": ".zip", ".edf": ".edf", ".bdf": ".bdf", ".csv": ".csv", ".tsv": ".tsv"}
SINGLE_FILE_SUFFIXES[".txt"] = ".txt"
WFDB_SUFFIXES = {".hea", ".dat", ".atr"}
MAX_SOURCE_NAME = 120

# progress(percent 0-100, label for the person waiting)
Progress = Callable[[int, str], None]


class AnalysisRefused(PermissionError):
    """The user may not analyse ECGs, or not this patient's (already audited)."""


@dataclass(frozen=True)
class UploadedFile:
    name: str  # as the browser sent it: for display and zip member names only, never a path
    content: bytes


@dataclass(frozen=True)
class AnalysisOutcome:
    recording_id: str
    patient_id: str
    analysis: dict
    actor: Actor  # who asked for it (the worker has no request to read it from)


@dataclass(frozen=True)
class SignalWindow:
    """A stretch of a stored recording, for the viewer (seconds, millivolts)."""

    start_s: float
    fs: float
    lead_names: tuple[str, ...]
    cleaned_mv: np.ndarray  # samples x leads
    annotations: dict | None  # {"sample": [...], "symbol": [...], "aux_note": [...]} in the window


# --- The rhythm classifier ------------------------------------------------------------------


NO_RHYTHM_MODEL_REASON = "No rhythm classifier is installed, so the rhythm was not classified."


@lru_cache(maxsize=1)
def rhythm_unclassified_reason() -> str | None:
    """Why analyses carry no rhythm call, or None when the classifier is in use.

    The shipped CNN is used only once its model card records that its cross-validation on unseen
    patients met every bar (`pipeline.rhythm_cnn.validation_shortfall`): until then its calls are
    not shown to clinicians, on the page, in reports or on the monitor, and this says why.
    """
    try:
        from pipeline.rhythm_cnn import DEFAULT_MODEL_PATH, validation_shortfall
    except ImportError:
        return NO_RHYTHM_MODEL_REASON
    if not DEFAULT_MODEL_PATH.exists():
        return NO_RHYTHM_MODEL_REASON
    return validation_shortfall()


@lru_cache(maxsize=1)
def rhythm_classifier():
    """The rhythm classifier the analyses use, loaded once per process; None when none is
    installed or the installed one has not passed its validation (`rhythm_unclassified_reason`
    says which). The one place to change when another classifier ships."""
    if rhythm_unclassified_reason() is not None:
        return None
    from pipeline.rhythm_cnn import DEFAULT_MODEL_PATH, CnnRhythmClassifier

    try:
        return CnnRhythmClassifier.load(DEFAULT_MODEL_PATH)
    except Exception:  # a broken weights file or a missing TensorFlow must not stop the analysis
        log.exception("the rhythm classifier could not be loaded; rhythms are not classified")
        return None


@lru_cache(maxsize=1)
def monitor_shock_advisory():
    """The CNN's VF/VT call (`pipeline.rhythm_cnn.ShockAdvisory`) for the monitor's alarm and the
    analyses (`vf_vt_call`), loaded once per process; None when no model is installed or its card
    does not validate the call on unseen patients (its three shock-advisory bars)."""
    try:
        from pipeline.rhythm_cnn import DEFAULT_MODEL_PATH, shock_advisory
    except ImportError:
        return None
    if not DEFAULT_MODEL_PATH.exists():
        return None
    try:
        return shock_advisory(DEFAULT_MODEL_PATH)
    except Exception:  # a broken weights file or a missing TensorFlow must not stop the monitor
        log.exception("the VF/VT call could not be loaded; the monitor raises no VF/VT alarm")
        return None


def vf_vt_call():
    """The VF/VT call an analysis reports (`pipeline.analysis.analyze`'s ``vf_vt``): the
    validated `monitor_shock_advisory`, where the rhythm names are not in use (where they are,
    the rhythm says VF or VT itself); None otherwise."""
    return None if rhythm_classifier() is not None else monitor_shock_advisory()


# --- Step 1: in the request -----------------------------------------------------------------


def decode_uploads(contents: list[str] | str | None, names: list[str] | str | None) -> list[UploadedFile]:
    """dcc.Upload's data URLs and names as files; EcgFormatError for anything not decodable."""
    if isinstance(contents, str):
        contents, names = [contents], [names]
    contents, names = list(contents or []), list(names or [])
    if not contents:
        raise EcgFormatError("Choose a recording to upload first.")
    files = []
    for content, name in zip(contents, names + [""] * (len(contents) - len(names)), strict=True):
        try:
            _, data = str(content).split(",", 1)
            files.append(UploadedFile(display_name(name), base64.b64decode(data, validate=True)))
        except (ValueError, binascii.Error) as error:
            raise EcgFormatError(
                f"'{display_name(name)}' could not be received whole. Please try again."
            ) from error
    return files


def display_name(name: str | None) -> str:
    """An upload's name as shown to people: its last part only, printable, bounded."""
    base = PurePosixPath(str(name or "").replace("\\", "/")).name
    printable = "".join(ch for ch in base if ch.isprintable()).strip()
    return printable[:MAX_SOURCE_NAME] or "upload"


def start_analysis(
    database: Database,
    settings: Settings,
    actor: Actor,
    patient_id: str,
    *,
    files: list[UploadedFile] | None = None,
    sample_key: str | None = None,
) -> str:
    """Check and stage one analysis; return its signed ticket for `run_analysis`.

    Raises AnalysisRefused (audited), EcgError with a readable message (nothing kept).
    """
    with database.transaction() as db:
        if actor.role not in ANALYSE_ROLES:
            audit.record_refusal(db, actor, patient_id=(patient_id or "")[:20], target="analyse ECG")
            raise AnalysisRefused("Only doctors analyse ECGs.")
        try:
            patient = check_patient_access(db, actor, patient_id)
        except PermissionError as error:
            raise AnalysisRefused(str(error)) from error
        patient_id = patient.patient_id
    job_id = uuid.uuid4().hex
    ticket = {"job": job_id, "role": actor.role, "actor": actor.account_id, "ip": actor.client_ip}
    ticket["patient"] = patient_id
    if sample_key is not None:
        sample = sample_by_key(sample_key)
        if sample is None:
            raise EcgFormatError("That sample recording does not exist.")
        ticket.update(sample=sample.key, source=sample.path.name)
    else:
        staged, source = _stage_upload(settings, job_id, files or [])
        ticket.update(staged=staged, source=source)
    return _serializer(settings).dumps(ticket)


def _max_bytes(settings: Settings) -> int:
    return settings.max_upload_mb * 1024 * 1024


def _staging_dir(settings: Settings, job_id: str) -> Path:
    return settings.instance_dir / "uploads" / job_id


def _stage_upload(settings: Settings, job_id: str, files: list[UploadedFile]) -> tuple[str, str]:
    """Write the upload as one file with a generated name; return (that name, name to show)."""
    if not files:
        raise EcgFormatError("Choose a recording to upload first.")
    total = sum(len(f.content) for f in files)
    if total > _max_bytes(settings):
        raise EcgTooLargeError.for_size(total, _max_bytes(settings))
    suffixes = {PurePosixPath(f.name.lower()).suffix for f in files}
    if len(files) == 1 and (files[0].content[:4] == b"PK\x03\x04" or suffixes <= set(SINGLE_FILE_SUFFIXES)):
        upload = files[0]
        suffix = ".zip" if upload.content[:4] == b"PK\x03\x04" else SINGLE_FILE_SUFFIXES[suffixes.pop()]
        content, source = upload.content, upload.name
    elif suffixes <= WFDB_SUFFIXES:
        if ".hea" not in suffixes:
            raise EcgFormatError(
                "A WFDB recording needs its header file (.hea) as well as the signal file (.dat). "
                "Select both files together, or upload them as one .zip."
            )
        content, suffix = _zip_of(files), ".zip"
        source = next(f.name for f in files if f.name.lower().endswith(".hea"))
    else:
        names = ", ".join(f"'{f.name}'" for f in files[:3])
        raise EcgFormatError(
            f"{names}: not a recording format we read. Upload a WFDB record (.hea + .dat, "
            "optionally .atr, or all in one .zip), an EDF file or a CSV file."
        )
    _remove_stale_staging(settings)
    folder = _staging_dir(settings, job_id)
    folder.mkdir(parents=True, exist_ok=False)
    staged = f"upload{suffix}"
    (folder / staged).write_bytes(content)
    return staged, source


def _remove_stale_staging(settings: Settings) -> None:
    """Staging folders of jobs that never finished (cancelled: the worker was stopped)."""
    root = settings.instance_dir / "uploads"
    if not root.is_dir():
        return
    cutoff = time.time() - TICKET_MAX_AGE_S
    for folder in root.iterdir():
        try:
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _zip_of(files: list[UploadedFile]) -> bytes:
    """Several WFDB files as one zip; the zip reader renames every member as it unpacks."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for upload in files:
            archive.writestr(upload.name, upload.content)
    return buffer.getvalue()


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="ecg-analysis-ticket")


# --- Step 2: in the background worker -----------------------------------------------------------


def run_analysis(
    database: Database, settings: Settings, ticket: str, progress: Progress | None = None
) -> AnalysisOutcome:
    """Load, analyse and store the recording a ticket names.

    Raises EcgError (nothing stored) or AnalysisRefused for a forged or expired ticket.
    """
    from pipeline.analysis import analyze
    from pipeline.load import load_ecg

    report = progress or (lambda percent, label: None)
    try:
        job = _serializer(settings).loads(ticket, max_age=TICKET_MAX_AGE_S)
    except BadSignature as error:
        raise AnalysisRefused("This analysis request has expired. Please start it again.") from error
    actor = Actor(role=job["role"], account_id=job["actor"], client_ip=job.get("ip"))
    staging = _staging_dir(settings, job["job"])
    try:
        report(0, "Loading the recording")
        if job.get("sample"):
            path = sample_by_key(job["sample"]).path
        else:
            path = staging / job["staged"]
        ecg = load_ecg(path, max_bytes=_max_bytes(settings), source=job["source"])

        def step(name: str, fraction: float) -> None:
            share = LOAD_SHARE + fraction * (1 - LOAD_SHARE - STORE_SHARE)
            report(round(100 * share), STEP_LABELS.get(name, name))

        analysis = analyze(
            ecg,
            classifier=rhythm_classifier(),
            unclassified_reason=rhythm_unclassified_reason(),
            vf_vt=vf_vt_call(),
            progress=step,
        )
        analysis_dict = analysis.to_dict()
        report(round(100 * (1 - STORE_SHARE)), "Saving the recording")
        outcome = _store(database, settings, actor, job, ecg, analysis, analysis_dict)
        report(100, "Done")
        return outcome
    finally:
        shutil.rmtree(staging, ignore_errors=True)


STEP_LABELS = {
    "clean": "Cleaning the signal",
    "quality": "Checking signal quality",
    "beats": "Finding the beats",
    "intervals": "Measuring PR, QRS and QT",
    "hrv": "Heart rate and its variability",
    "rhythm": "Classifying the rhythm",
    "done": "Analysis finished",
}


def recordings_dir(settings: Settings) -> Path:
    return settings.instance_dir / "recordings"


def _store(database, settings, actor, job, ecg, analysis, analysis_dict) -> AnalysisOutcome:
    recording_id = uuid.uuid4().hex
    stored_name = f"{recording_id}.npz"
    folder = recordings_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / stored_name
    annotations = ecg.annotations
    with open(path, "xb") as handle:
        np.savez(
            handle,
            signal_mv=np.asarray(ecg.signal_mv, dtype=np.float32),
            cleaned_mv=np.asarray(analysis.cleaned_mv, dtype=np.float32),
            fs=np.float64(ecg.fs),
            lead_names=np.array(ecg.lead_names),
            ann_sample=np.asarray(annotations.sample if annotations else [], dtype=np.int64),
            ann_symbol=np.array(annotations.symbol if annotations else [], dtype=str),
            ann_aux=np.array(annotations.aux_note if annotations else [], dtype=str),
        )
    try:
        with database.transaction() as db:
            check_patient_access(db, actor, job["patient"])  # still the doctor's patient
            db.add(
                EcgRecording(
                    recording_id=recording_id,
                    patient_id=job["patient"],
                    stored_name=stored_name,
                    source_name=job["source"][:255],
                    sample_key=job.get("sample"),
                    record_name=(ecg.record_name or "")[:80],
                    fs=float(ecg.fs),
                    n_samples=int(ecg.signal_mv.shape[0]),
                    lead_names=",".join(ecg.lead_names)[:255],
                    uploaded_at=utcnow(),
                    uploaded_by_role=actor.role,
                    uploaded_by_id=actor.account_id,
                    analysis_json=json.dumps(analysis_dict, allow_nan=False),
                )
            )
            audit.record(
                db,
                actor,
                "analyse_ecg",
                patient_id=job["patient"],
                target=f"recording {recording_id}",
                detail={"source": job["source"], "sample": job.get("sample")},
            )
    except BaseException:
        path.unlink(missing_ok=True)  # nothing half-kept: no row, no file
        raise
    return AnalysisOutcome(recording_id, job["patient"], analysis_dict, actor)


# --- Reading stored recordings ------------------------------------------------------------------


def open_recording(database: Database, actor: Actor, recording_id: str) -> EcgRecording:
    """The recording's row if this user may see its patient (PermissionError otherwise)."""
    with database.transaction() as db:
        recording = db.get(EcgRecording, str(recording_id or "")[:32])
        if recording is None:
            audit.record_refusal(db, actor, target=f"recording {str(recording_id)[:40]}")
            raise PermissionError("This recording does not exist or is not one you may see.")
        check_patient_access(db, actor, recording.patient_id)
        return recording


def signal_window(
    database: Database, settings: Settings, actor: Actor, recording_id: str, start_s: float, end_s: float
) -> SignalWindow:
    """The cleaned signal between two times (clipped to the recording), for the viewer."""
    recording = open_recording(database, actor, recording_id)
    stored = _load_stored(str(recordings_dir(settings) / recording.stored_name))
    fs = float(stored["fs"])
    n = stored["cleaned_mv"].shape[0]
    first = int(np.clip(np.floor(start_s * fs), 0, n - 1))
    last = int(np.clip(np.ceil(end_s * fs) + 1, first + 1, n))
    sample = stored["ann_sample"]
    inside = (sample >= first) & (sample < last)
    annotations = None
    if sample.size:
        annotations = {
            "sample": sample[inside].tolist(),
            "symbol": stored["ann_symbol"][inside].tolist(),
            "aux_note": stored["ann_aux"][inside].tolist(),
        }
    return SignalWindow(
        start_s=first / fs,
        fs=fs,
        lead_names=tuple(stored["lead_names"].tolist()),
        cleaned_mv=stored["cleaned_mv"][first:last],
        annotations=annotations,
    )


def recording_analysis(database: Database, actor: Actor, recording_id: str) -> dict:
    """The stored Analysis JSON of a recording this user may see (parsed once per process)."""
    recording = open_recording(database, actor, recording_id)
    return _parsed(recording.recording_id, recording.analysis_json)


@lru_cache(maxsize=16)
def _parsed(recording_id: str, analysis_json: str) -> dict:
    return json.loads(analysis_json)


@lru_cache(maxsize=4)
def _load_stored(path: str) -> dict[str, np.ndarray]:
    """A stored recording's arrays (kept for the few recordings being viewed in this process)."""
    with np.load(path, allow_pickle=False) as stored:
        return {key: stored[key] for key in stored.files}


def patient_recordings(database: Database, actor: Actor, patient_id: str) -> list[EcgRecording]:
    from sqlalchemy import select

    with database.transaction() as db:
        patient = check_patient_access(db, actor, patient_id)
        return list(
            db.scalars(
                select(EcgRecording)
                .where(EcgRecording.patient_id == patient.patient_id)
                .order_by(EcgRecording.uploaded_at.desc())
            )
        )


__all__ = [
    "AnalysisOutcome",
    "AnalysisRefused",
    "EcgError",
    "decode_uploads",
    "rhythm_classifier",
    "rhythm_unclassified_reason",
    "run_analysis",
    "signal_window",
    "start_analysis",
]
