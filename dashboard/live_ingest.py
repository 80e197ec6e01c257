"""What a bedside device sends: one chunk of samples with a sequence number.

Two encodings of the same chunk, both over HTTP POST to /api/monitor/ingest:

* JSON (`Content-Type: application/json`):
  `{"seq": 17, "fs": 250, "samples": [0.01, 0.02, ...]}` — samples in mV.
* Binary (`Content-Type: application/octet-stream`), little-endian, a 24-byte header then
  the samples:

  ========  ======  ==========================================================
  bytes     type    field
  ========  ======  ==========================================================
  0–3       4s      magic `b"ECG1"`
  4         uint8   sample type: 1 = int16 (times `scale_mv`), 2 = float32 mV
  5–7       —       reserved, zero
  8–11      uint32  seq
  12–15     float32 fs (Hz)
  16–19     float32 scale_mv (mV per count for int16; ignored for float32)
  20–23     uint32  n, the number of samples that follow
  ========  ======  ==========================================================

A chunk that breaks any rule raises `ChunkRefused` with the counter name and a sentence for
the device's log; nothing of it is stored.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass

import numpy as np

MAGIC = b"ECG1"
HEADER = struct.Struct("<4sB3xIffI")
INT16, FLOAT32 = 1, 2
MAX_SAMPLES_PER_CHUNK = 4096
MAX_CHUNK_BYTES = 64 * 1024
MIN_FS, MAX_FS = 50.0, 2000.0
# Beyond ±20 mV a sample is not an ECG (a surface ECG's QRS is a few mV).
MAX_ABS_MV = 20.0


class ChunkRefused(ValueError):
    def __init__(self, counter: str, message: str, status: int = 400):
        super().__init__(message)
        self.counter = counter
        self.status = status


@dataclass(frozen=True)
class Chunk:
    seq: int
    fs: float
    samples_mv: np.ndarray  # float32


def parse_chunk(body: bytes, content_type: str | None) -> Chunk:
    if len(body) > MAX_CHUNK_BYTES:
        raise ChunkRefused("malformed", f"A chunk may be at most {MAX_CHUNK_BYTES} bytes.", 413)
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "application/json":
        seq, fs, samples = _from_json(body)
    elif kind == "application/octet-stream":
        seq, fs, samples = _from_binary(body)
    else:
        raise ChunkRefused("malformed", "Send application/json or application/octet-stream.", 415)
    if not (MIN_FS <= fs <= MAX_FS):
        raise ChunkRefused("malformed", f"fs must be between {MIN_FS:g} and {MAX_FS:g} Hz.")
    if not 1 <= len(samples) <= MAX_SAMPLES_PER_CHUNK:
        raise ChunkRefused("malformed", f"A chunk holds 1 to {MAX_SAMPLES_PER_CHUNK} samples.")
    if not np.all(np.isfinite(samples)):
        raise ChunkRefused("nan", "The chunk has NaN or infinite samples; it was not stored.", 422)
    if np.any(np.abs(samples) > MAX_ABS_MV):
        raise ChunkRefused("malformed", f"Samples must be in mV, within ±{MAX_ABS_MV:g}.", 422)
    return Chunk(seq=seq, fs=fs, samples_mv=samples.astype(np.float32))


def _from_json(body: bytes) -> tuple[int, float, np.ndarray]:
    try:
        data = json.loads(body)
        seq, fs, raw = data["seq"], data["fs"], data["samples"]
    except (ValueError, TypeError, KeyError):
        raise ChunkRefused("malformed", "Expected JSON {seq, fs, samples}.") from None
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < 2**32:
        raise ChunkRefused("malformed", "seq must be a whole number from 0 to 2^32-1.")
    if not isinstance(fs, int | float) or isinstance(fs, bool) or not math.isfinite(fs):
        raise ChunkRefused("malformed", "fs must be a number (Hz).")
    if not isinstance(raw, list):
        raise ChunkRefused("malformed", "samples must be a list of numbers (mV).")
    if any(value is None for value in raw):
        raise ChunkRefused("nan", "The chunk has missing (null) samples; it was not stored.", 422)
    try:
        samples = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise ChunkRefused("malformed", "samples must be a list of numbers (mV).") from None
    if samples.ndim != 1:
        raise ChunkRefused("malformed", "samples must be a flat list of numbers (mV).")
    return seq, float(fs), samples


def _from_binary(body: bytes) -> tuple[int, float, np.ndarray]:
    if len(body) < HEADER.size:
        raise ChunkRefused("malformed", "The binary chunk is shorter than its 24-byte header.")
    magic, kind, seq, fs, scale, n = HEADER.unpack_from(body)
    if magic != MAGIC or kind not in (INT16, FLOAT32):
        raise ChunkRefused("malformed", "The binary chunk does not start with ECG1 and a known sample type.")
    width = 2 if kind == INT16 else 4
    if len(body) != HEADER.size + n * width or not math.isfinite(fs):
        raise ChunkRefused("malformed", "The binary chunk's length does not match its sample count.")
    if kind == INT16:
        if not math.isfinite(scale) or scale <= 0:
            raise ChunkRefused("malformed", "scale_mv must be a positive number for int16 samples.")
        samples = np.frombuffer(body, dtype="<i2", offset=HEADER.size).astype(np.float64) * scale
    else:
        samples = np.frombuffer(body, dtype="<f4", offset=HEADER.size).astype(np.float64)
    return int(seq), float(fs), samples


def encode_binary(
    seq: int, fs: float, samples_mv: np.ndarray, *, int16_scale_mv: float | None = None
) -> bytes:
    """A device's side of the binary form (used by the tests and the load benchmark)."""
    if int16_scale_mv:
        counts = np.round(np.asarray(samples_mv) / int16_scale_mv).astype("<i2")
        return HEADER.pack(MAGIC, INT16, seq, fs, int16_scale_mv, len(counts)) + counts.tobytes()
    values = np.asarray(samples_mv, dtype="<f4")
    return HEADER.pack(MAGIC, FLOAT32, seq, fs, 1.0, len(values)) + values.tobytes()
