"""Live ECG streams: one ring buffer per bed, in this process or in Redis.

A bed's stream is a sequence of float32 samples (mV, one lead) at the bed's sampling rate.
Every sample has an absolute index (0 for the first sample the bed ever sent), so a reader
asks for "everything after index N" and gets only the new samples, whichever worker wrote
them. The buffer keeps the last `capacity_s` seconds; older samples are dropped.

Each append carries the device's chunk sequence number: a chunk whose number is not greater
than the last accepted one is a duplicate or out of order and is refused *before* anything is
written, so a bad chunk never shifts or corrupts the stream. Counters (accepted, duplicate,
malformed, ...) are kept per bed for the admin page.

`MemoryStreamStore` is the embedded default (one process). `RedisStreamStore` (ECG_REDIS_URL)
keeps the same data in Redis so several gunicorn workers share it: the check-and-append is one
Lua script, so two workers never interleave a bed's chunks.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

import numpy as np

DEFAULT_CAPACITY_S = 60.0


@dataclass(frozen=True)
class AppendResult:
    accepted: bool
    reason: str | None  # "duplicate" when refused
    end_index: int  # index one past the bed's last sample


@dataclass(frozen=True)
class StreamRead:
    fs: float | None
    start_index: int  # index of samples[0]
    samples: np.ndarray  # float32
    end_index: int
    last_chunk_at: float | None  # wall-clock time (epoch s) of the last accepted chunk
    last_seq: int = -1  # the last accepted chunk's sequence number


@dataclass
class _Ring:
    fs: float
    capacity: int
    data: np.ndarray
    end_index: int = 0
    last_seq: int = -1
    last_chunk_at: float | None = None
    counters: dict[str, int] = field(default_factory=dict)


class MemoryStreamStore:
    """Ring buffers in this process (the embedded default)."""

    def __init__(self, capacity_s: float = DEFAULT_CAPACITY_S):
        self.capacity_s = capacity_s
        self._rings: dict[str, _Ring] = {}
        self._counters: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()
        self._once: dict[str, float] = {}
        self._json: dict[str, str] = {}

    def append(
        self, bed_id: str, fs: float, seq: int, samples: np.ndarray, now: float | None = None
    ) -> AppendResult:
        samples = np.asarray(samples, dtype=np.float32)
        with self._lock:
            ring = self._rings.get(bed_id)
            if ring is None or ring.fs != fs:  # a new bed, or a device restarted at another rate
                capacity = int(self.capacity_s * fs)
                ring = _Ring(fs=fs, capacity=capacity, data=np.zeros(capacity, np.float32))
                self._rings[bed_id] = ring
            if seq <= ring.last_seq:
                self._count_locked(bed_id, "duplicate")
                return AppendResult(False, "duplicate", ring.end_index)
            n = len(samples)
            if n >= ring.capacity:
                samples, skipped = samples[-ring.capacity :], n - ring.capacity
                ring.end_index += skipped
                n = ring.capacity
            positions = (ring.end_index + np.arange(n)) % ring.capacity
            ring.data[positions] = samples
            ring.end_index += n
            ring.last_seq = seq
            ring.last_chunk_at = time.time() if now is None else now
            self._count_locked(bed_id, "accepted")
            return AppendResult(True, None, ring.end_index)

    def read(self, bed_id: str, since_index: int, max_samples: int | None = None) -> StreamRead:
        with self._lock:
            ring = self._rings.get(bed_id)
            if ring is None:
                return StreamRead(None, 0, np.zeros(0, np.float32), 0, None)
            oldest = max(0, ring.end_index - ring.capacity)
            start = max(int(since_index), oldest)
            if max_samples is not None:
                start = max(start, ring.end_index - max_samples)
            start = min(start, ring.end_index)
            positions = np.arange(start, ring.end_index) % ring.capacity
            return StreamRead(
                ring.fs, start, ring.data[positions].copy(), ring.end_index, ring.last_chunk_at, ring.last_seq
            )

    def count(self, bed_id: str, name: str) -> None:
        with self._lock:
            self._count_locked(bed_id, name)

    def _count_locked(self, bed_id: str, name: str) -> None:
        counters = self._counters.setdefault(bed_id, {})
        counters[name] = counters.get(name, 0) + 1

    def counters(self, bed_id: str) -> dict[str, int]:
        with self._lock:
            return dict(self._counters.get(bed_id, {}))

    def run_once(self, key: str, every_s: float, now: float | None = None) -> bool:
        """True for the first caller in each `every_s` period (e.g. one alarm check per second)."""
        now = time.time() if now is None else now
        with self._lock:
            if now - self._once.get(key, -1e18) < every_s:
                return False
            self._once[key] = now
            return True

    def put_json(self, key: str, value) -> None:
        with self._lock:
            self._json[key] = json.dumps(value)

    def get_json(self, key: str):
        with self._lock:
            raw = self._json.get(key)
        return None if raw is None else json.loads(raw)

    def take_rate(self, key: str, limit_per_s: int, now: float | None = None) -> bool:
        """A one-second fixed-window rate limit: False once `limit_per_s` is used up."""
        now = time.time() if now is None else now
        window = f"rate:{key}:{int(now)}"
        with self._lock:
            used = self._once.get(window, 0) + 1
            self._once[window] = used
            if len(self._once) > 10000:  # forget old windows
                self._once = {k: v for k, v in self._once.items() if not k.startswith("rate:")}
            return used <= limit_per_s


_APPEND_LUA = """
local meta = KEYS[1]
local data = KEYS[2]
local fs = ARGV[1]
local seq = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local capacity = tonumber(ARGV[4])
local now = ARGV[5]
local blob = ARGV[6]
local oldfs = redis.call('HGET', meta, 'fs')
if oldfs ~= fs then
  redis.call('DEL', data)
  redis.call('HSET', meta, 'fs', fs, 'end', 0, 'seq', -1)
end
local last = tonumber(redis.call('HGET', meta, 'seq') or '-1')
local e = tonumber(redis.call('HGET', meta, 'end') or '0')
if seq <= last then
  redis.call('HINCRBY', meta, 'c:duplicate', 1)
  return {0, e}
end
redis.call('XADD', data, 'MAXLEN', '~', capacity, tostring(e + 1) .. '-0', 's', e, 'd', blob)
e = e + n
redis.call('HSET', meta, 'end', e, 'seq', seq, 'at', now)
redis.call('HINCRBY', meta, 'c:accepted', 1)
return {1, e}
"""


class RedisStreamStore:
    """The same buffers in Redis (ECG_REDIS_URL), shared by every worker.

    Per bed: a hash `<prefix>:<bed>:meta` (fs, end index, last seq, last chunk time, counters)
    and a Redis stream `<prefix>:<bed>:data` of chunks whose entry ID is (start index + 1),
    trimmed to about the buffer's capacity in chunks.
    """

    MAX_CHUNK_SAMPLES = 4096

    def __init__(self, url: str, capacity_s: float = DEFAULT_CAPACITY_S, prefix: str = "ecg:live"):
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.capacity_s = capacity_s
        self.prefix = prefix
        self._append = self.redis.register_script(_APPEND_LUA)

    def _keys(self, bed_id: str) -> tuple[str, str]:
        return f"{self.prefix}:{bed_id}:meta", f"{self.prefix}:{bed_id}:data"

    def append(
        self, bed_id: str, fs: float, seq: int, samples: np.ndarray, now: float | None = None
    ) -> AppendResult:
        samples = np.asarray(samples, dtype="<f4")
        capacity_chunks = max(16, int(self.capacity_s * fs / max(1, len(samples))))
        accepted, end = self._append(
            keys=self._keys(bed_id),
            args=[
                repr(float(fs)),
                int(seq),
                len(samples),
                capacity_chunks,
                time.time() if now is None else now,
                samples.tobytes(),
            ],
        )
        return AppendResult(bool(accepted), None if accepted else "duplicate", int(end))

    def read(self, bed_id: str, since_index: int, max_samples: int | None = None) -> StreamRead:
        meta_key, data_key = self._keys(bed_id)
        meta = self.redis.hgetall(meta_key)
        if not meta or b"end" not in meta:
            return StreamRead(None, 0, np.zeros(0, np.float32), 0, None)
        fs, end = float(meta[b"fs"]), int(meta[b"end"])
        at = float(meta[b"at"]) if b"at" in meta else None
        seq = int(meta.get(b"seq", -1))
        want = max(int(since_index), end - int(self.capacity_s * fs))
        if max_samples is not None:
            want = max(want, end - max_samples)
        want = min(max(want, 0), end)
        first_id = max(0, want - self.MAX_CHUNK_SAMPLES) + 1
        entries = self.redis.xrange(data_key, min=f"{first_id}-0", max="+")
        parts, start = [], None
        for _id, fields in entries:
            chunk_start = int(fields[b"s"])
            chunk = np.frombuffer(fields[b"d"], dtype="<f4")
            if chunk_start + len(chunk) <= want:
                continue
            if start is None:
                start = chunk_start
            parts.append(chunk)
        if not parts:
            return StreamRead(fs, end, np.zeros(0, np.float32), end, at, seq)
        samples = np.concatenate(parts)
        cut = max(0, want - start)
        return StreamRead(fs, start + cut, samples[cut:].astype(np.float32), end, at, seq)

    def count(self, bed_id: str, name: str) -> None:
        self.redis.hincrby(self._keys(bed_id)[0], f"c:{name}", 1)

    def counters(self, bed_id: str) -> dict[str, int]:
        meta = self.redis.hgetall(self._keys(bed_id)[0])
        return {k.decode()[2:]: int(v) for k, v in meta.items() if k.startswith(b"c:")}

    def run_once(self, key: str, every_s: float, now: float | None = None) -> bool:
        return bool(self.redis.set(f"{self.prefix}:once:{key}", 1, nx=True, px=int(every_s * 1000)))

    def put_json(self, key: str, value) -> None:
        self.redis.set(f"{self.prefix}:json:{key}", json.dumps(value), ex=3600)

    def get_json(self, key: str):
        raw = self.redis.get(f"{self.prefix}:json:{key}")
        return None if raw is None else json.loads(raw)

    def take_rate(self, key: str, limit_per_s: int, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        window = f"{self.prefix}:rate:{key}:{int(now)}"
        pipe = self.redis.pipeline()
        pipe.incr(window)
        pipe.expire(window, 2)
        used, _ = pipe.execute()
        return int(used) <= limit_per_s


def build_stream_store(redis_url: str | None, capacity_s: float = DEFAULT_CAPACITY_S):
    """Redis when a URL is configured (several workers), else in this process."""
    if redis_url:
        return RedisStreamStore(redis_url, capacity_s)
    return MemoryStreamStore(capacity_s)
