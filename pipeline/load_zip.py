"""Read a ``.zip`` holding one WFDB record (``100.hea`` + ``100.dat`` [+ ``100.atr``]).

A zip is how a WFDB record, which is several files, arrives as one upload. Names inside a zip
are chosen by whoever made it, so none is ever used as a path: the header is copied into a
fresh temporary folder as ``record.hea`` with its signal files renamed there to
``signal_0.dat``, ``signal_1.dat``, ...; only the bytes of the members are taken. A zip whose
names try to climb out of a folder ("zip-slip": ``../../x`` or ``/etc/x``) is refused whole,
as is one with no header or with more than one.

The sizes the zip declares are checked against the byte limit before anything is unpacked, and
each member is copied no further than its declared size, so a "zip bomb" stops at the limit.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from pipeline.ecg import Ecg
from pipeline.errors import EcgFormatError, EcgTooLargeError
from pipeline.load_wfdb import wfdb_read

# A WFDB header is a few lines per lead; anything larger is not one.
_MAX_HEADER_BYTES = 1_000_000
# Files that archivers add beside the content (macOS resource forks, Finder and Explorer caches).
_CLUTTER = re.compile(r"(^|/)(__MACOSX/|\._|\.DS_Store$|Thumbs\.db$)")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")
_FIRST_TOKEN = re.compile(r"^(\s*)(\S+)")


def zip_read(zip_path: Path, *, source: str, max_bytes: int) -> Ecg:
    """Read the single WFDB record inside the zip file ``zip_path``.

    Args:
        zip_path: the ``.zip`` file.
        source: the name to show for this recording (the zip's file name).
        max_bytes: refuse when the record's files, unpacked, are larger.

    Returns:
        The record as `pipeline.load_wfdb.wfdb_read` reads it, named as its header names it.

    Raises:
        EcgFormatError: not a zip, unsafe names, no header, several records, a file missing.
        EcgTooLargeError: the record's files unpacked exceed ``max_bytes``.
    """
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as error:
        raise EcgFormatError(f"'{source}' is not a readable zip file.") from error
    with archive:
        members = [member for member in archive.infolist() if not member.is_dir()]
        _names_safe_check(archive.infolist(), source)
        members = [member for member in members if not _CLUTTER.search(member.filename)]
        header = _header_member(members, source)
        header_text = _member_bytes(archive, header, _MAX_HEADER_BYTES, source).decode("latin-1")
        record_name, data_file_names = _header_names(header_text, source)
        by_name = _members_by_base_name(members)
        data_members = [_member_named(by_name, name, source) for name in data_file_names]
        stem = PurePosixPath(header.filename).stem
        annotation = by_name.get(f"{stem}.atr", [None])[0]

        declared = header.file_size + sum(member.file_size for member in data_members)
        declared += annotation.file_size if annotation else 0
        if declared > max_bytes:
            raise EcgTooLargeError.for_size(declared, max_bytes)

        generated = {name: f"signal_{index}.dat" for index, name in enumerate(data_file_names)}
        with tempfile.TemporaryDirectory(prefix="ecg-zip-") as folder_name:
            folder = Path(folder_name)
            (folder / "record.hea").write_text(_header_renamed(header_text, generated), encoding="latin-1")
            for name, member in zip(data_file_names, data_members, strict=True):
                _member_extract(archive, member, folder / generated[name], source)
            if annotation is not None:
                _member_extract(archive, annotation, folder / "record.atr", source)
            ecg = wfdb_read(folder / "record.hea", source=source, max_bytes=max_bytes)
    return dataclasses.replace(ecg, record_name=record_name)


def _names_safe_check(members: list[zipfile.ZipInfo], source: str) -> None:
    for member in members:
        name = member.filename.replace("\\", "/")
        if name.startswith("/") or _WINDOWS_DRIVE.match(name) or ".." in name.split("/"):
            raise EcgFormatError(
                f"'{source}' contains a file whose name points outside the zip. "
                "For safety it was not opened; please zip the record's files again."
            )


def _header_member(members: list[zipfile.ZipInfo], source: str) -> zipfile.ZipInfo:
    headers = [member for member in members if member.filename.lower().endswith(".hea")]
    if not headers:
        raise EcgFormatError(
            f"'{source}' holds no WFDB header (.hea file). A zip must hold one record: "
            "its .hea file and the .dat file it names."
        )
    if len(headers) > 1:
        raise EcgFormatError(f"'{source}' holds {len(headers)} records. Please send one record per zip file.")
    return headers[0]


def _header_names(text: str, source: str) -> tuple[str, list[str]]:
    """The record name and the distinct signal file names the header's lines give."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    try:
        record_token, n_signals_token = lines[0].split()[:2]
        n_signals = int(n_signals_token)
        file_names = [line.split()[0] for line in lines[1 : 1 + n_signals]]
    except (IndexError, ValueError) as error:
        raise EcgFormatError(f"The header in '{source}' is not a readable WFDB header.") from error
    if "/" in record_token:
        raise EcgFormatError(
            f"'{source}' holds a recording split into segments, which cannot be opened here. "
            "Please send a single-segment record."
        )
    if n_signals < 1 or len(file_names) < n_signals:
        raise EcgFormatError(f"The header in '{source}' describes no complete ECG signal.")
    for name in file_names:
        if Path(name).name != name or "\\" in name or name in {".", "..", "-", "~"}:
            raise EcgFormatError(
                f"The header in '{source}' names its signal file in a way that is not allowed ('{name}')."
            )
    return record_token, list(dict.fromkeys(file_names))


def _members_by_base_name(members: list[zipfile.ZipInfo]) -> dict[str, list[zipfile.ZipInfo]]:
    by_name: dict[str, list[zipfile.ZipInfo]] = {}
    for member in members:
        by_name.setdefault(PurePosixPath(member.filename.replace("\\", "/")).name, []).append(member)
    return by_name


def _member_named(by_name: dict[str, list[zipfile.ZipInfo]], name: str, source: str) -> zipfile.ZipInfo:
    found = by_name.get(name, [])
    if not found:
        raise EcgFormatError(
            f"'{source}' does not contain the signal file '{name}' that its header needs. "
            "Please zip the .hea file together with its .dat file."
        )
    if len(found) > 1:
        raise EcgFormatError(
            f"'{source}' holds more than one file called '{name}'. Please send one record per zip."
        )
    return found[0]


def _header_renamed(text: str, generated: dict[str, str]) -> str:
    """The header text with each signal line's file name replaced by its generated name."""
    lines = text.splitlines()
    out = []
    record_line_seen = False
    signals_left = 0
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            out.append(line)
        elif not record_line_seen:
            record_line_seen = True
            signals_left = int(stripped.split()[1])
            out.append(line)
        elif signals_left > 0:
            signals_left -= 1
            out.append(
                _FIRST_TOKEN.sub(lambda match: match.group(1) + generated[match.group(2)], line, count=1)
            )
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def _member_bytes(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limit: int, source: str) -> bytes:
    if member.file_size > limit:
        raise EcgFormatError(f"The header in '{source}' is far too large to be a WFDB header.")
    try:
        with archive.open(member) as stream:
            return stream.read()
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as error:
        raise _damaged_error(source) from error


def _member_extract(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, source: str) -> None:
    # zipfile stops a member's stream at its declared size and checks its CRC at the end, so the
    # copy below can neither grow past the size checked against the limit nor pass corrupt bytes.
    try:
        with archive.open(member) as stream, target.open("wb") as out:
            shutil.copyfileobj(stream, out, length=1 << 20)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as error:
        raise _damaged_error(source) from error


def _damaged_error(source: str) -> EcgFormatError:
    # RuntimeError is what zipfile raises for a password-protected member.
    return EcgFormatError(
        f"'{source}' is damaged, password-protected or packed in a way we cannot unpack. "
        "Please zip the record's files again without a password."
    )
