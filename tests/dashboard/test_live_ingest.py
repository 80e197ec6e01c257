"""dashboard/live_ingest.py: the JSON and binary chunk forms, and what they refuse."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from dashboard.live_ingest import HEADER, MAGIC, ChunkRefused, encode_binary, parse_chunk


def test_json_chunk():
    chunk = parse_chunk(
        json.dumps({"seq": 3, "fs": 250, "samples": [0.1, -0.2]}).encode(), "application/json"
    )
    assert chunk.seq == 3 and chunk.fs == 250.0
    np.testing.assert_allclose(chunk.samples_mv, [0.1, -0.2], rtol=1e-6)


@pytest.mark.parametrize("scale", [None, 0.005])
def test_binary_chunk_float32_and_int16(scale):
    values = np.array([0.0, 0.5, -1.25, 2.0])
    chunk = parse_chunk(encode_binary(9, 360.0, values, int16_scale_mv=scale), "application/octet-stream")
    assert chunk.seq == 9 and chunk.fs == 360.0
    np.testing.assert_allclose(chunk.samples_mv, values, atol=0.005)


@pytest.mark.parametrize(
    "body, kind, counter, status",
    [
        (b"{not json", "application/json", "malformed", 400),
        (json.dumps({"seq": -1, "fs": 250, "samples": [0]}).encode(), "application/json", "malformed", 400),
        (json.dumps({"seq": 1, "fs": 5, "samples": [0]}).encode(), "application/json", "malformed", 400),
        (json.dumps({"seq": 1, "fs": 250, "samples": []}).encode(), "application/json", "malformed", 400),
        (json.dumps({"seq": 1, "fs": 250, "samples": ["a"]}).encode(), "application/json", "malformed", 400),
        (json.dumps({"seq": 1, "fs": 250, "samples": [[1]]}).encode(), "application/json", "malformed", 400),
        (json.dumps({"seq": 1, "fs": 250, "samples": [None]}).encode(), "application/json", "nan", 422),
        (b'{"seq": 1, "fs": 250, "samples": [NaN]}', "application/json", "nan", 422),
        (
            json.dumps({"seq": 1, "fs": 250, "samples": [500.0]}).encode(),
            "application/json",
            "malformed",
            422,
        ),
        (b"ECG1", "application/octet-stream", "malformed", 400),
        (HEADER.pack(b"XXXX", 2, 1, 250.0, 1.0, 1) + b"\0" * 4, "application/octet-stream", "malformed", 400),
        (HEADER.pack(MAGIC, 2, 1, 250.0, 1.0, 5) + b"\0" * 4, "application/octet-stream", "malformed", 400),
        (HEADER.pack(MAGIC, 1, 1, 250.0, 0.0, 1) + b"\0" * 2, "application/octet-stream", "malformed", 400),
        (
            HEADER.pack(MAGIC, 2, 1, 250.0, 1.0, 1) + struct.pack("<f", float("nan")),
            "application/octet-stream",
            "nan",
            422,
        ),
        (b"x" * 70000, "application/json", "malformed", 413),
        (b"1,2,3", "text/csv", "malformed", 415),
    ],
)
def test_bad_chunks_are_refused_with_a_counter_and_status(body, kind, counter, status):
    with pytest.raises(ChunkRefused) as refused:
        parse_chunk(body, kind)
    assert (refused.value.counter, refused.value.status) == (counter, status)
