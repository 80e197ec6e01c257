"""The built-in sample library: short excerpts of real PhysioNet records shipped in
dashboard/samples/ (WFDB format with their reference .atr annotations), so a doctor can try
the analysis without a file of their own. Licences and citations: NOTICE and README."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"


@dataclass(frozen=True)
class Sample:
    key: str  # the WFDB record name in SAMPLES_DIR
    title: str
    description: str

    @property
    def path(self) -> Path:
        return SAMPLES_DIR / f"{self.key}.hea"


SAMPLES: tuple[Sample, ...] = (
    Sample("mitdb-100", "Normal sinus rhythm", "MIT-BIH 100, 0–5 min, 2 leads at 360 Hz"),
    Sample("mitdb-201", "Atrial fibrillation", "MIT-BIH 201, 0–5 min, AF throughout"),
    Sample("mitdb-223", "Ventricular tachycardia runs", "MIT-BIH 223, 9–14 min, a 55-s VT run"),
    Sample("mitdb-107", "Paced rhythm", "MIT-BIH 107, 0–5 min, paced beats"),
    Sample("mitdb-231", "Second-degree AV block", "MIT-BIH 231, 1–6 min, 2:1 block from 1:37"),
    Sample("vfdb-418", "Ventricular flutter / fibrillation", "MIT-BIH MVED 418, 6:20–11:20, VFL episodes"),
)


def sample_by_key(key: str | None) -> Sample | None:
    """The sample called `key`, or None: only these names are ever opened, never a path."""
    return next((sample for sample in SAMPLES if sample.key == key), None)
