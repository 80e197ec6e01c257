"""Which rhythm class each reference label trains: the WFDB rhythm labels of mitdb and vfdb, and
PTB-XL's SCP-ECG statements, mapped onto the eight classes of `pipeline.rhythm.RHYTHM_CLASSES`.

**WFDB rhythm annotations.** In the MIT-BIH Arrhythmia Database (mitdb) and the MIT-BIH
Malignant Ventricular Ectopy Database (vfdb) a rhythm change is an annotation with symbol ``+``
whose ``aux_note`` holds the label, such as ``(AFIB``; some labels end in a NUL byte, which is
stripped. A label holds from its annotation until the next ``+`` or the end of the record; the
stretch before a record's first ``+`` has no label. `rhythm_segments` turns the annotations into
these stretches.

`WFDB_RHYTHM_CLASSES` is the one table. Every label that occurs in the 48 mitdb and 22 vfdb
records is in it (the tests read every ``.atr`` file to keep it so), with its meaning from the
databases' documentation (PhysioBank annotation codes; vfdb's annotation page). A label that is
not in it is never guessed into a class: `rhythm_class_of` raises `RhythmLabelError` naming it,
and `unmapped_labels` lists the unknown labels of a collection.

Decisions the table makes, and why:

- **Sinus rhythm at any rate is Normal** (``(N``, vfdb's ``(NSR``, ``(SBR`` sinus bradycardia):
  the class is about the rhythm's origin and regularity, not about the rate.
- **Atrial flutter is AF** (``(AFL``): the rhythm design groups flutter with fibrillation, as
  PTB-XL's AFLT is grouped below; both are atrial tachyarrhythmias with the same treatment
  questions (anticoagulation, rate control).
- **Ventricular flutter is VF** (``(VFL``; vfdb also writes ``(VF`` and ``(VFIB``): flutter is a
  fast sinusoidal ventricular rhythm that degenerates into fibrillation and is shocked the same
  way; the PhysioNet/CinC Challenge 2015 alarm definitions also treat "fibrillatory, flutter or
  oscillatory waveform" as one alarm (Clifford et al. 2015).
- **First- and second-degree block are Heart block** (vfdb ``(BI``, mitdb ``(BII``; ``(BIII``,
  third-degree, occurs in neither database and is listed so such a record is not refused).
- **Other** holds the organised rhythms that are none of the above: ventricular bigeminy and
  trigeminy (``(B``, ``(T``), atrial bigeminy (``(AB``), paced rhythm (mitdb ``(P``, vfdb
  ``(PM``), nodal (AV-junctional) rhythm (``(NOD``), idioventricular rhythm (``(IVR``),
  pre-excitation / WPW (``(PREX``), high-grade ventricular ectopic activity (vfdb ``(HGEA``)
  and ventricular escape rhythm (vfdb ``(VER``).
- **vfdb's ``(NOISE`` is Noise.** vfdb's documentation says the previous rhythm continues under
  a ``(NOISE`` episode; the ECG there is too disturbed to read, which is what the Noise class
  means.
- **Asystole (vfdb ``(ASYS``, 792 s) is excluded**, mapped to None: it is none of the eight
  classes. It is no rhythm at all but the absence of electrical activity, so it is not VF, not
  Noise (the signal is clean, just flat) and not Other (which would teach the model that a flat
  line is an organised rhythm). Asystole is found better by a rule on the R peaks: no QRS
  complex for at least 4 s, the asystole alarm definition of the PhysioNet/CinC Challenge 2015
  (Clifford et al. 2015). Windows under an excluded label are left out of the dataset.

**PTB-XL.** Each PTB-XL record is a 10-s 12-lead ECG with a dictionary of SCP-ECG statements,
``{'NORM': 100.0, 'SR': 0.0}``, whose values are likelihoods. Diagnostic statements carry one
taken from the report's wording (Wagner et al. 2020; in the records seen here 15, 35, 80 or 100);
rhythm and form statements carry none, and PhysioNet's description of the database says the
likelihood "is set to 0 if unknown". So a statement counts when its likelihood is 0 (unknown,
the way every rhythm statement comes) or at least `PTBXL_MIN_LIKELIHOOD` (50: at least as likely
as not); a diagnostic statement the cardiologist qualified as unlikely (15, 35) does not count.

`PTBXL_CODE_CLASSES` maps the statements named by the rhythm design (NORM and SR to Normal,
AFIB and AFLT to AF, 1AVB/2AVB/3AVB to Heart block, SVTAC and PSVT to SVT, PACE to Other) and
PTB-XL's other rhythm statements the way the WFDB table maps their counterparts: sinus
bradycardia, tachycardia and arrhythmia (SBRAD, STACH, SARRH) are Normal like ``(SBR``; the
bigeminal and trigeminal patterns (BIGU, TRIGU), supraventricular arrhythmia (SVARR) and
Wolff-Parkinson-White (WPW, like ``(PREX``) are Other; a prolonged PR interval (LPR) is
first-degree AV block by definition (PR > 200 ms) and so Heart block. Every other statement
(infarction, hypertrophy, ST-T changes, bundle branch blocks, PVC...) says nothing about the
rhythm and is ignored.

Precedence when a record has several counted statements (`ptbxl_class`): a 10-s strip has one
rhythm, so the Normal statements yield to any other (SR is coded beside 1AVB, because the atria
are in sinus rhythm while conduction is blocked). When the remaining statements name two
different classes (AFIB with PACE, 1AVB with BIGU) the strip has no single right answer and the
record gets no class (None): it is left out of training rather than given a guessed label.
A record with no counted rhythm statement also gets None.

References:
    Moody GB, Mark RG. The impact of the MIT-BIH Arrhythmia Database. IEEE Eng Med Biol
    2001;20(3):45-50. PhysioBank annotation codes: https://archive.physionet.org/physiobank/annotations.shtml
    Greenwald SD. Development and analysis of a ventricular fibrillation detector. M.S. thesis,
    MIT, 1986 (vfdb); annotations: https://physionet.org/content/vfdb/1.0.0/
    Clifford GD, Silva I, Moody B, et al. The PhysioNet/Computing in Cardiology Challenge 2015:
    reducing false arrhythmia alarms in the ICU. Computing in Cardiology 2015;42:273-276.
    Wagner P, Strodthoff N, Bousseljot RD, et al. PTB-XL, a large publicly available
    electrocardiography dataset. Sci Data 2020;7:154; https://physionet.org/content/ptb-xl/

Example:
    >>> rhythm_class_of("(AFIB\\x00")
    'AF'
    >>> ptbxl_class({"NORM": 100.0, "SR": 0.0}), ptbxl_class({"SR": 0.0, "1AVB": 100.0})
    ('Normal', 'Heart block')
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import wfdb

from pipeline.rhythm import RHYTHM_CLASSES

# The one table: WFDB rhythm label -> class, or None where the label is excluded from training.
# Meanings: PhysioBank annotation codes (mitdb) and vfdb's annotation page.
WFDB_RHYTHM_CLASSES: Mapping[str, str | None] = MappingProxyType(
    {
        "(N": "Normal",  # normal sinus rhythm (mitdb, vfdb)
        "(NSR": "Normal",  # normal sinus rhythm (vfdb's other spelling)
        "(SBR": "Normal",  # sinus bradycardia (mitdb, vfdb)
        "(SVTA": "SVT",  # supraventricular tachyarrhythmia (mitdb, vfdb)
        "(AFIB": "AF",  # atrial fibrillation (mitdb, vfdb)
        "(AFL": "AF",  # atrial flutter (mitdb)
        "(VF": "VF",  # ventricular fibrillation (vfdb)
        "(VFIB": "VF",  # ventricular fibrillation (vfdb's other spelling)
        "(VFL": "VF",  # ventricular flutter (mitdb, vfdb)
        "(VT": "VT",  # ventricular tachycardia (mitdb, vfdb)
        "(BI": "Heart block",  # first-degree heart block (vfdb)
        "(BII": "Heart block",  # second-degree heart block (mitdb)
        "(BIII": "Heart block",  # third-degree heart block (in neither database)
        "(B": "Other",  # ventricular bigeminy (mitdb, vfdb)
        "(T": "Other",  # ventricular trigeminy (mitdb)
        "(AB": "Other",  # atrial bigeminy (mitdb)
        "(P": "Other",  # paced rhythm (mitdb)
        "(PM": "Other",  # pacemaker, paced rhythm (vfdb)
        "(NOD": "Other",  # nodal (AV-junctional) rhythm (mitdb, vfdb)
        "(IVR": "Other",  # idioventricular rhythm (mitdb)
        "(PREX": "Other",  # pre-excitation, WPW (mitdb)
        "(HGEA": "Other",  # high-grade ventricular ectopic activity (vfdb)
        "(VER": "Other",  # ventricular escape rhythm (vfdb)
        "(NOISE": "Noise",  # noise episode; the rhythm under it continues (vfdb)
        "(ASYS": None,  # asystole (vfdb): excluded, left to a no-QRS-for-4-s rule (see module)
    }
)

# The WFDB symbol of a rhythm-change annotation (PhysioBank annotation codes: RHYTHM "+").
RHYTHM_CHANGE_SYMBOL = "+"

# PTB-XL SCP-ECG statement -> class (see the module docstring for the ones beyond the design's).
PTBXL_CODE_CLASSES: Mapping[str, str] = MappingProxyType(
    {
        "NORM": "Normal",  # normal ECG (diagnostic)
        "SR": "Normal",  # sinus rhythm
        "SBRAD": "Normal",  # sinus bradycardia
        "STACH": "Normal",  # sinus tachycardia
        "SARRH": "Normal",  # sinus arrhythmia
        "AFIB": "AF",  # atrial fibrillation
        "AFLT": "AF",  # atrial flutter
        "SVTAC": "SVT",  # supraventricular tachycardia
        "PSVT": "SVT",  # paroxysmal supraventricular tachycardia
        "1AVB": "Heart block",  # first-degree AV block (diagnostic)
        "2AVB": "Heart block",  # second-degree AV block (diagnostic)
        "3AVB": "Heart block",  # third-degree AV block (diagnostic)
        "LPR": "Heart block",  # prolonged PR interval (form): first-degree AV block by definition
        "PACE": "Other",  # normal functioning artificial pacemaker
        "BIGU": "Other",  # bigeminal pattern (supraventricular or ventricular)
        "TRIGU": "Other",  # trigeminal pattern (supraventricular or ventricular)
        "SVARR": "Other",  # supraventricular arrhythmia
        "WPW": "Other",  # Wolff-Parkinson-White syndrome (diagnostic), like mitdb's (PREX
    }
)

# PhysioNet's PTB-XL description: "likelihood is set to 0 if unknown" (rhythm and form statements).
PTBXL_UNKNOWN_LIKELIHOOD = 0.0
# Diagnostic statements count from 50 on: at least as likely as not (Wagner et al. 2020 give the
# likelihood each statement's wording in the report implies).
PTBXL_MIN_LIKELIHOOD = 50.0


class RhythmLabelError(ValueError):
    """A rhythm label that the table does not know; the message names it and where it was found."""


@dataclass(frozen=True)
class RhythmSegment:
    """A stretch of a record under one rhythm label.

    Attributes:
        start_s, end_s: the stretch in seconds from the start of the record.
        label: the WFDB label (``"(AFIB"``), without its trailing NUL.
        rhythm_class: the class it trains (one of `RHYTHM_CLASSES`), or None where the label is
            excluded (asystole).
    """

    start_s: float
    end_s: float
    label: str
    rhythm_class: str | None

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def rhythm_label_cleaned(aux_note: str | None) -> str:
    """``aux_note`` stripped of the trailing NUL some files carry: ``'(AFIB\\x00'`` -> ``'(AFIB'``."""
    return (aux_note or "").replace("\x00", "").strip()


def rhythm_class_of(label: str) -> str | None:
    """The class a WFDB rhythm label trains, or None for a label excluded on purpose (asystole).

    Raises:
        RhythmLabelError: the label is not in `WFDB_RHYTHM_CLASSES`.
    """
    cleaned = rhythm_label_cleaned(label)
    if cleaned not in WFDB_RHYTHM_CLASSES:
        raise RhythmLabelError(
            f"The rhythm label '{cleaned}' is not in the label table (pipeline.rhythm_labels."
            "WFDB_RHYTHM_CLASSES); add it there with the class it belongs to."
        )
    return WFDB_RHYTHM_CLASSES[cleaned]


def unmapped_labels(labels: Iterable[str]) -> list[str]:
    """The labels among ``labels`` that the table does not know, cleaned, sorted, once each."""
    return sorted({rhythm_label_cleaned(label) for label in labels} - set(WFDB_RHYTHM_CLASSES))


def rhythm_segments(
    sample: Sequence[int] | np.ndarray,
    symbol: Sequence[str],
    aux_note: Sequence[str | None],
    fs: float,
    n_samples: int,
    *,
    record: str = "",
) -> tuple[RhythmSegment, ...]:
    """The rhythm stretches of a record from its annotations (each label holds until the next).

    Args:
        sample, symbol, aux_note: the record's annotations (all of them; only ``+`` ones are used),
            ``sample`` at ``fs``.
        fs: the annotations' sampling rate, Hz.
        n_samples: the record's length in samples: the last label holds until there.
        record: the record's name, for the error message.

    Returns:
        The stretches in time order; the part before the first ``+`` has none.

    Raises:
        RhythmLabelError: a label is not in the table; the message lists every unknown one.
    """
    at = [int(s) for s, sym in zip(sample, symbol, strict=True) if sym == RHYTHM_CHANGE_SYMBOL]
    labels = [
        rhythm_label_cleaned(note)
        for note, sym in zip(aux_note, symbol, strict=True)
        if sym == RHYTHM_CHANGE_SYMBOL
    ]
    unknown = unmapped_labels(labels)
    if unknown:
        where = f" in record {record}" if record else ""
        raise RhythmLabelError(
            f"Rhythm labels{where} that the label table does not know: {', '.join(unknown)}. "
            "Add them to pipeline.rhythm_labels.WFDB_RHYTHM_CLASSES with the class each belongs to."
        )
    if not at:
        return ()
    ends = [*at[1:], max(int(n_samples), at[-1])]
    return tuple(
        RhythmSegment(start / fs, end / fs, label, WFDB_RHYTHM_CLASSES[label])
        for start, end, label in zip(at, ends, labels, strict=True)
        if end > start
    )


def record_rhythm_segments(record_path: str | os.PathLike[str]) -> tuple[RhythmSegment, ...]:
    """The rhythm stretches of a WFDB record, read from its ``.hea`` and ``.atr`` only (no signal).

    Args:
        record_path: the record without extension (``.../mitdb/201``).
    """
    path = str(Path(record_path))
    header = wfdb.rdheader(path)
    annotation = wfdb.rdann(path, "atr")
    fs = float(annotation.fs or header.fs)
    n_samples = round(int(header.sig_len) * fs / float(header.fs))
    return rhythm_segments(
        annotation.sample, annotation.symbol, annotation.aux_note, fs, n_samples, record=Path(path).name
    )


def ptbxl_codes_counted(
    scp_codes: Mapping[str, float], *, min_likelihood: float = PTBXL_MIN_LIKELIHOOD
) -> tuple[str, ...]:
    """The statements of ``scp_codes`` that count: likelihood unknown (0) or at least ``min_likelihood``."""
    return tuple(
        code
        for code, likelihood in scp_codes.items()
        if float(likelihood) == PTBXL_UNKNOWN_LIKELIHOOD or float(likelihood) >= min_likelihood
    )


def ptbxl_classes(
    scp_codes: Mapping[str, float], *, min_likelihood: float = PTBXL_MIN_LIKELIHOOD
) -> frozenset[str]:
    """Every class the counted statements of a PTB-XL record name (before precedence)."""
    counted = ptbxl_codes_counted(scp_codes, min_likelihood=min_likelihood)
    return frozenset(PTBXL_CODE_CLASSES[code] for code in counted if code in PTBXL_CODE_CLASSES)


def ptbxl_class(
    scp_codes: Mapping[str, float], *, min_likelihood: float = PTBXL_MIN_LIKELIHOOD
) -> str | None:
    """The rhythm class of a PTB-XL record from its ``scp_codes``, or None (see the module's precedence).

    Args:
        scp_codes: statement -> likelihood, as PTB-XL's ``scp_codes`` column holds them.
        min_likelihood: the least likelihood at which a statement with a known likelihood counts.

    Returns:
        One of `RHYTHM_CLASSES`; None when no counted statement names a rhythm, or when they name
        two different classes other than Normal.
    """
    classes = ptbxl_classes(scp_codes, min_likelihood=min_likelihood)
    abnormal = classes - {"Normal"}
    if len(abnormal) == 1:
        return next(iter(abnormal))
    if not abnormal and classes:
        return "Normal"
    return None


def class_index(rhythm_class: str) -> int:
    """The index of ``rhythm_class`` in `RHYTHM_CLASSES` (the integer label a model is trained on)."""
    return RHYTHM_CLASSES.index(rhythm_class)
