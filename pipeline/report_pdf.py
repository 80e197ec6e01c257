"""ECG reports as PDF: an HTML template and CSS, rendered by WeasyPrint.

Two documents from the same saved report:

* `clinician_report_pdf`: the report a clinician files: header with the institution, the
  patient, report id and date, the doctor; rhythm strips on true ECG paper (one 10-s strip per
  lead and the whole recording compressed, `pipeline.ecg_strip_svg`); findings with every rhythm
  probability; intervals with normal ranges and flags; HRV; signal quality; Framingham and GRACE
  with their inputs and meaning; the doctor's conclusions and notes; the signature line (or a
  "DRAFT — not signed" watermark on every page); the disclaimer; "Page X of Y".
* `patient_summary_pdf`: one to two pages in plain language for the patient.

Inputs are plain data: a report dict (see `clinician_report_pdf`), the Analysis JSON
(`pipeline.analysis.Analysis.to_dict`) or None, the stored signal (samples x leads, mV) with its
sampling rate and lead names. Output is PDF bytes. Fonts come from the system (fontconfig:
DejaVu Sans for Latin, Greek, Cyrillic and Arabic; WenQuanYi Micro Hei for CJK); nothing is
fetched. The PDF's dates are the report's date and its identifier is derived from the content,
so building the same report twice gives the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from jinja2 import Environment, FileSystemLoader, select_autoescape

from pipeline.ecg import leads_quoted
from pipeline.ecg_strip_svg import ecg_overview_svg, ecg_strip_svg, overview_caption
from pipeline.risk import framingham_category, grace_mortality_pct

TEMPLATES = Path(__file__).resolve().parent / "templates"
PAPER_SIZES = {"A4": "A4", "LETTER": "letter"}
NOT_MEASURED = "not measured"
STRIP_SECONDS = 10.0
MAX_STRIP_LEADS = 12

# Normal ranges of the standardization and interpretation of the ECG (Surawicz et al., Circulation
# 2009;119:e235 for conduction; Rautaharju et al., Circulation 2009;119:e241 for the QT interval).
PR_RANGE_MS = (120.0, 200.0)  # PR > 200 ms: first-degree AV block; < 120 ms: short PR
QRS_WIDE_MS = 120.0  # QRS >= 120 ms: bundle-branch block or ventricular conduction
QTC_LONG_MS = {"male": 450.0, "female": 470.0}
QTC_SHORT_MS = 390.0  # QTc < 390 ms: short QT (Rautaharju 2009)
HR_RANGE_BPM = (60.0, 100.0)

DISCLAIMER = (
    "Automated interpretation: the rhythm, intervals and heart-rate variability in this report were "
    "computed by software and can be wrong (noise, unusual morphology, paced rhythms, conditions the "
    "classifier was not trained on). They support and do not replace the reading of the tracing by a "
    "qualified clinician. Risk scores estimate risk in populations; they are not a diagnosis."
)

RHYTHM_PLAIN = {
    "Normal": "a normal heart rhythm (sinus rhythm)",
    "SVT": "a fast rhythm starting above the heart's lower chambers (supraventricular tachycardia)",
    "AF": "an irregular rhythm of the upper chambers (atrial fibrillation)",
    "VF": "a chaotic rhythm of the lower chambers (ventricular fibrillation)",
    "VT": "a fast rhythm starting in the lower chambers (ventricular tachycardia)",
    "Heart block": "a delay or block of the electrical signal between upper and lower chambers (heart block)",
    "Other": "a rhythm the software could not put in one of its groups",
    "Noise": "a recording too disturbed to read the rhythm",
}


@dataclass(frozen=True)
class Institution:
    """Who issues the report: printed in the header. `logo_path` is a local PNG/JPEG/SVG file."""

    name: str = "ECG Dashboard"
    logo_path: str | None = None


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _number(value, unit: str = "", digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return NOT_MEASURED
    text = f"{float(value):.{digits}f}"
    return f"{text} {unit}".strip()


def _date(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _stamp(value) -> str:
    moment = _date(value)
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "—"


def _flag(text: str, level: str) -> dict:
    return {"text": text, "level": level}


def _sex(report: dict) -> str | None:
    return {"female": "female", "male": "male"}.get(
        str((report.get("patient") or {}).get("sex") or "").lower()
    )


def interval_rows(intervals: dict, sex: str | None) -> list[dict]:
    """PR, QRS, QT, QTc with their normal ranges and a flag each (no flag when not measured)."""
    pr, qrs, qt = intervals.get("pr"), intervals.get("qrs"), intervals.get("qt")
    long_qtc = QTC_LONG_MS.get(sex or "")
    qtc_range = f"{QTC_SHORT_MS:.0f}–{long_qtc:.0f} ms" if long_qtc else "≤ 450 ms men, ≤ 470 ms women"

    def pr_flag():
        if pr is None:
            return None
        if pr > PR_RANGE_MS[1]:
            return _flag("long: first-degree AV block?", "high")
        if pr < PR_RANGE_MS[0]:
            return _flag("short", "high")
        return _flag("normal", "ok")

    def qrs_flag():
        if qrs is None:
            return None
        return _flag("wide", "high") if qrs >= QRS_WIDE_MS else _flag("normal", "ok")

    def qtc_flag(value):
        if value is None:
            return None
        if value > (long_qtc or QTC_LONG_MS["male"]):
            return _flag("prolonged" if long_qtc else "prolonged for men", "high")
        if value < QTC_SHORT_MS:
            return _flag("short", "high")
        return _flag("normal", "ok")

    return [
        {"name": "PR", "value": _number(pr, "ms"), "normal": "120–200 ms", "flag": pr_flag()},
        {"name": "QRS", "value": _number(qrs, "ms"), "normal": "< 120 ms", "flag": qrs_flag()},
        {"name": "QT", "value": _number(qt, "ms"), "normal": "depends on heart rate", "flag": None},
        {
            "name": "QTc (Bazett)",
            "value": _number(intervals.get("qtc_bazett"), "ms"),
            "normal": qtc_range,
            "flag": qtc_flag(intervals.get("qtc_bazett")),
        },
        {
            "name": "QTc (Fridericia)",
            "value": _number(intervals.get("qtc_fridericia"), "ms"),
            "normal": qtc_range,
            "flag": qtc_flag(intervals.get("qtc_fridericia")),
        },
    ]


def _rhythm(report: dict, analysis: dict | None) -> dict:
    rhythm = (analysis or {}).get("rhythm")
    if rhythm:
        probabilities = sorted(
            (rhythm.get("probabilities") or {}).items(), key=lambda item: (-item[1], item[0])
        )
        return {
            "classified": True,
            "label": rhythm.get("label"),
            "confidence": f"{float(rhythm.get('confidence') or 0):.0%}",
            "probabilities": [
                {"name": name, "pct": f"{p:.1%}", "width": round(p * 100, 1)} for name, p in probabilities
            ],
            "episodes": [
                {
                    "label": e["label"],
                    "span": f"{_clock(e['start_s'])}–{_clock(e['end_s'])}",
                    "probability": f"{e.get('probability', 0):.0%}",
                }
                for e in rhythm.get("episodes") or []
            ],
        }
    reason = (analysis or {}).get("rhythm_reason")
    if analysis is None and report.get("rhythm_label") and report["rhythm_label"] != "Not classified":
        return {  # an original row from before the dashboard: only its columns are known
            "classified": True,
            "label": report["rhythm_label"],
            "confidence": f"{float(report.get('confidence') or 0):.0%}",
            "probabilities": [
                {"name": name, "pct": f"{p:.1%}", "width": round(p * 100, 1)}
                for name, p in sorted(
                    (report.get("probabilities") or {}).items(), key=lambda i: (-i[1], i[0])
                )
            ],
            "episodes": [],
        }
    return {
        "classified": False,
        "reason": reason or "no rhythm classification is stored with this report.",
        "vf_vt": _vf_vt((analysis or {}).get("vf_vt")),
    }


def _vf_vt(call: dict | None) -> dict | None:
    """The validated VF/VT call where the rhythm names are not in use (`pipeline.analysis`)."""
    if not call:
        return None
    return {
        "rule": call.get("rule", "VF/VT call"),
        "windows": len(call.get("windows") or []),
        "called": int(call.get("windows_called") or 0),
        "episodes": [
            {"span": f"{_clock(e['start_s'])}–{_clock(e['end_s'])}", "probability": f"{e['probability']:.0%}"}
            for e in call.get("episodes") or []
        ],
    }


def _clock(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{seconds % 60:04.1f}"


def _hrv_rows(hrv: dict) -> list[dict]:
    return [
        {"name": "Mean NN", "value": _number(hrv.get("mean_nn_ms"), "ms")},
        {"name": "SDNN", "value": _number(hrv.get("sdnn_ms"), "ms")},
        {"name": "RMSSD", "value": _number(hrv.get("rmssd_ms"), "ms")},
        {"name": "pNN50", "value": _number(hrv.get("pnn50_pct"), "%", 1)},
        {"name": "LF / HF", "value": _number(hrv.get("lf_hf"), "", 2)},
        {
            "name": "SD1 / SD2",
            "value": f"{_number(hrv.get('sd1_ms'), 'ms')} / {_number(hrv.get('sd2_ms'), 'ms')}",
        },
        {"name": "NN intervals", "value": _number(hrv.get("nn_count"))},
    ]


def _quality(analysis: dict) -> dict:
    windows = analysis.get("quality") or []
    unusable = [w for w in windows if not w.get("usable")]
    reasons: dict[str, int] = {}
    for window in unusable:
        reasons[window.get("reason") or "unusable"] = reasons.get(window.get("reason") or "unusable", 0) + 1
    fraction = analysis.get("usable_fraction")
    return {
        "usable": _number(None if fraction is None else fraction * 100, "%", 0),
        "windows": len(windows),
        "unusable": len(unusable),
        "reasons": [f"{reason} ({n})" for reason, n in sorted(reasons.items())],
    }


def _risk(report: dict) -> dict:
    risk = report.get("risk") or {}
    fram, grace = risk.get("framingham"), risk.get("grace")
    out: dict = {"framingham": None, "grace": None}
    if fram and fram.get("risk_pct") is not None:
        pct = float(fram["risk_pct"])
        out["framingham"] = {
            "risk": f"{pct:.1f} %",
            "category": fram.get("category") or framingham_category(pct),
            "points": fram.get("points"),
            "heart_age": _number(fram.get("heart_age_years"), "years"),
            "inputs": [
                ("Sex", fram.get("sex") or "—"),
                ("Age", _number(fram.get("age_years"), "years")),
                ("Total cholesterol", _number(fram.get("total_cholesterol_mg_dl"), "mg/dL")),
                ("HDL cholesterol", _number(fram.get("hdl_mg_dl"), "mg/dL")),
                ("Systolic BP", _number(fram.get("sbp_mmhg"), "mmHg")),
                ("BP treated", _yes_no(fram.get("bp_treated"))),
                ("Smoker", _yes_no(fram.get("smoker"))),
                ("Diabetes", _yes_no(fram.get("diabetic"))),
            ],
        }
    if grace and grace.get("points") is not None:
        points = float(grace["points"])
        mortality_text = grace.get("mortality_text") or grace_mortality_pct(points)[1]
        out["grace"] = {
            "points": f"{points:.0f}",
            "mortality": mortality_text,
            "inputs": [
                ("Age", _number(grace.get("age_years"), "years")),
                ("Heart rate", _number(grace.get("heart_rate_bpm"), "bpm")),
                ("Systolic BP", _number(grace.get("sbp_mmhg"), "mmHg")),
                ("Creatinine", _number(grace.get("creatinine_mg_dl"), "mg/dL", 2)),
                ("Killip class", _number(grace.get("killip_class"))),
                ("Cardiac arrest at admission", _yes_no(grace.get("cardiac_arrest"))),
                ("ST-segment deviation", _yes_no(grace.get("st_deviation"))),
                ("Elevated cardiac enzymes", _yes_no(grace.get("elevated_enzymes"))),
            ],
        }
    return out


def _yes_no(value) -> str:
    return "not recorded" if value is None else ("yes" if value else "no")


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _logo_uri(path: str | None) -> str | None:
    """The logo as a data URI (a local file only; a missing or unreadable file prints no logo)."""
    if not path:
        return None
    file = Path(path)
    kinds = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}
    kind = kinds.get(file.suffix.lower())
    if kind is None or not file.is_file():
        return None
    return f"data:{kind};base64," + base64.b64encode(file.read_bytes()).decode("ascii")


def _strip_start(analysis: dict | None, duration_s: float) -> float:
    """Start of the first usable 10-s window (else 0), so the strip shows readable signal."""
    for window in (analysis or {}).get("quality") or []:
        if window.get("usable") and window["start_s"] + STRIP_SECONDS <= duration_s + 1e-6:
            return float(window["start_s"])
    return 0.0


def strips(analysis: dict | None, signal_mv: np.ndarray | None, fs: float | None, lead_names) -> dict:
    """The SVG strips (as data URIs) of every lead, and the overview of the analysed lead."""
    if signal_mv is None or fs is None or np.asarray(signal_mv).size == 0:
        return {"leads": [], "overview": None}
    signal = np.asarray(signal_mv, dtype=np.float64)
    if signal.ndim == 1:
        signal = signal[:, None]
    names = list(lead_names or [f"lead {i + 1}" for i in range(signal.shape[1])])
    duration = signal.shape[0] / fs
    start = _strip_start(analysis, duration)
    uncalibrated = set((analysis or {}).get("uncalibrated_leads") or [])
    leads = [
        {
            "name": names[i],
            "uri": _data_uri(
                ecg_strip_svg(
                    signal[:, i], fs, names[i], start_s=start, calibrated=names[i] not in uncalibrated
                )
            ),
        }
        for i in range(min(signal.shape[1], MAX_STRIP_LEADS))
    ]
    analysed = (analysis or {}).get("lead")
    index = names.index(analysed) if analysed in names else 0
    # The rhythm's episodes, or where only the VF/VT call is validated its VF/VT episodes.
    rhythm = (analysis or {}).get("rhythm") or (analysis or {}).get("vf_vt") or {}
    unusable = [
        (w["start_s"], w["end_s"]) for w in (analysis or {}).get("quality") or [] if not w.get("usable")
    ]
    overview = ecg_overview_svg(
        signal[:, index], fs, names[index], episodes=rhythm.get("episodes") or [], unusable=unusable
    )
    return {
        "leads": leads,
        "start": f"{start:.0f}",
        "overview": {"uri": _data_uri(overview), "lead": names[index], "caption": overview_caption(duration)},
    }


def report_context(
    report: dict,
    analysis: dict | None,
    signal_mv: np.ndarray | None = None,
    fs: float | None = None,
    lead_names=None,
    *,
    institution: Institution = Institution(),
    paper_size: str = "A4",
) -> dict:
    """Everything the templates print, as strings (missing values read "not measured")."""
    size = PAPER_SIZES.get(str(paper_size).upper())
    if size is None:
        raise ValueError(f"paper size must be A4 or Letter, got {paper_size!r}")
    analysis = analysis or None
    intervals = (analysis or {}).get("intervals_ms") or {}
    if analysis is None:  # an original row: its own columns
        intervals = {"pr": report.get("pr_ms") or None, "qt": report.get("qt_ms") or None}
    heart_rate = (analysis or {}).get("heart_rate_bpm") or {"mean": report.get("heart_rate_bpm") or None}
    patient = report.get("patient") or {}
    signed = report.get("status") == "signed"
    hrv = (analysis or {}).get("hrv") or {}
    return {
        "paper": size,
        "institution": {"name": institution.name, "logo": _logo_uri(institution.logo_path)},
        "report": {
            "id": report.get("report_id", ""),
            "date": _stamp(report.get("report_date")),
            "version": report.get("version") or 1,
            "amends": report.get("amends"),
            "doctor": report.get("doctor") or "—",
            "signed": signed,
            "signed_by": report.get("signed_by") or "",
            "signed_at": _stamp(report.get("signed_at")),
            "conclusions": report.get("conclusions") or "",
            "notes": report.get("notes") or "",
        },
        "patient": {
            "name": patient.get("name") or "—",
            "id": patient.get("patient_id") or "—",
            "age": _number(patient.get("age"), "years"),
            "sex": patient.get("gender") or patient.get("sex") or "—",
        },
        "recording": {
            "record": (analysis or {}).get("record") or report.get("record") or "—",
            "duration": _number((analysis or {}).get("duration_s"), "s", 1),
            "fs": _number((analysis or {}).get("fs") or fs, "Hz"),
            "leads": ", ".join((analysis or {}).get("leads") or list(lead_names or [])) or "—",
            "lead": (analysis or {}).get("lead") or "—",
            "beats": _number((analysis or {}).get("beat_count") or report.get("beat_count")),
        },
        "heart_rate": {
            "mean": _number(heart_rate.get("mean"), "bpm"),
            "min": _number(heart_rate.get("min"), "bpm"),
            "max": _number(heart_rate.get("max"), "bpm"),
        },
        "rhythm": _rhythm(report, analysis),
        "intervals": interval_rows(intervals, _sex(report)),
        "beats_measured": intervals.get("beats_measured"),
        "hrv": _hrv_rows(hrv),
        "hrv_reason": " ".join(r for r in (hrv.get("caution"), hrv.get("time_reason")) if r) or None,
        "quality": _quality(analysis) if analysis else None,
        "beats_lead_reason": (analysis or {}).get("beats_lead_reason"),
        "uncalibrated_leads": leads_quoted((analysis or {}).get("uncalibrated_leads") or []),
        "risk": _risk(report),
        "strips": strips(analysis, signal_mv, fs, lead_names),
        "disclaimer": DISCLAIMER,
        "plain_rhythm": RHYTHM_PLAIN,
        "not_measured": NOT_MEASURED,
        "created_iso": (_date(report.get("report_date")) or datetime(2000, 1, 1)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
    }


def clinician_report_html(report: dict, analysis: dict | None, *args, **kwargs) -> str:
    return (
        _environment().get_template("report.html").render(**report_context(report, analysis, *args, **kwargs))
    )


def patient_summary_html(report: dict, analysis: dict | None, **kwargs) -> str:
    return (
        _environment()
        .get_template("patient_summary.html")
        .render(**report_context(report, analysis, **kwargs))
    )


def _pdf(html: str) -> bytes:
    # Imported here: WeasyPrint loads Pango at import, which only report rendering needs.
    from weasyprint import HTML

    identifier = hashlib.md5(html.encode("utf-8")).hexdigest().encode("ascii")  # not security: a file id
    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf(
        presentational_hints=True, pdf_identifier=identifier, uncompressed_pdf=False
    )


def clinician_report_pdf(
    report: dict,
    analysis: dict | None,
    signal_mv: np.ndarray | None = None,
    fs: float | None = None,
    lead_names=None,
    *,
    institution: Institution = Institution(),
    paper_size: str = "A4",
) -> bytes:
    """The clinician report as PDF bytes.

    Args:
        report: ``report_id``, ``report_date`` (datetime, UTC), ``version``, ``amends``, ``doctor``
            (the name printed), ``status`` ("draft"/"signed"/"original"), ``signed_by``,
            ``signed_at``, ``conclusions``, ``notes``; ``patient``: {``name``, ``patient_id``,
            ``age``, ``gender``, ``sex`` ("male"/"female" for the QTc limits)}; ``risk``:
            {``framingham``: inputs + ``risk_pct``, ``points``, ``category``,
            ``heart_age_years``; ``grace``: inputs + ``points``, ``mortality_text``} (either may
            be None). For a row without an Analysis: ``rhythm_label``, ``confidence``,
            ``probabilities``, ``heart_rate_bpm``, ``pr_ms``, ``qt_ms``.
        analysis: the Analysis JSON, or None.
        signal_mv, fs, lead_names: the stored signal (samples x leads, mV) for the strips, or None.
        institution: name and logo of the header; paper_size: "A4" or "Letter".
    """
    return _pdf(
        clinician_report_html(
            report, analysis, signal_mv, fs, lead_names, institution=institution, paper_size=paper_size
        )
    )


def patient_summary_pdf(
    report: dict, analysis: dict | None, *, institution: Institution = Institution(), paper_size: str = "A4"
) -> bytes:
    """The plain-language summary for the patient (one to two pages) as PDF bytes."""
    return _pdf(patient_summary_html(report, analysis, institution=institution, paper_size=paper_size))
