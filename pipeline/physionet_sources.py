"""Which PhysioNet database a record comes from, where one database excerpts others.

The QT Database (qtdb) took its 105 records from six other databases and kept their names after
"sel" (Laguna et al. 1997): a benchmark or an external check that must leave out the records a
model or a detector was developed on (the MIT-BIH Arrhythmia Database's excerpts ``sel100``...)
finds them here. Pure functions, no I/O.
"""

from __future__ import annotations

import re


def qtdb_source(record: str) -> str:
    """The database a QT Database record was excerpted from, by its name: "sel" + the source's own
    record name (Laguna et al. 1997): ``sel100``-``sel234`` mitdb, ``sel3xx`` the MIT-BIH ST Change
    Database, ``sel8xx`` the Supraventricular Arrhythmia Database, ``sele*`` the European ST-T
    Database, ``sel14xxx``/``sel15xxx`` the Long-Term ECG Database, ``sel16xxx``/``sel17xxx`` the
    Normal Sinus Rhythm Database, two digits the sudden-death Holters; "qtdb" for any other name.

    Reference: Laguna P, Mark RG, Goldberger AL, Moody GB. A database for evaluation of algorithms
    for measurement of QT and other waveform intervals in the ECG. Computers in Cardiology
    1997;24:673-676 (Table 1: the records' sources).
    """
    match = re.fullmatch(r"sel(e?)(\d+)", record)
    if match is None:
        return "qtdb"
    european, digits = match.groups()
    if european:
        return "edb"
    number = int(digits)
    if len(digits) == 2:
        return "sddb"
    if len(digits) == 3:
        if 100 <= number <= 234:
            return "mitdb"
        return {3: "stdb", 8: "svdb"}.get(number // 100, "qtdb")
    if len(digits) == 5:
        return {14: "ltdb", 15: "ltdb", 16: "nsrdb", 17: "nsrdb"}.get(number // 1000, "qtdb")
    return "qtdb"


def record_source(database: str, record: str) -> str:
    """The database a record comes from: its source where the QT Database excerpted it, else ``database``."""
    return qtdb_source(record) if database == "qtdb" else database
