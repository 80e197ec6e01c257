"""dashboard/live_buffer.py: ring buffers per bed, in-process and in Redis."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from dashboard.live_buffer import MemoryStreamStore, RedisStreamStore


def _redis_store(capacity_s: float):
    try:
        store = RedisStreamStore(
            "redis://127.0.0.1:6379/0", capacity_s, prefix=f"ecg:test:{uuid.uuid4().hex}"
        )
        store.redis.ping()
    except Exception:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return store


@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        yield MemoryStreamStore(capacity_s=4.0)
        return
    store = _redis_store(4.0)
    yield store
    for key in store.redis.scan_iter(f"{store.prefix}:*"):
        store.redis.delete(key)


def test_a_reader_gets_only_the_samples_after_its_cursor(store):
    store.append("bed-1", 250.0, 0, np.arange(100, dtype=np.float32))
    store.append("bed-1", 250.0, 1, np.arange(100, 150, dtype=np.float32))
    read = store.read("bed-1", 120)
    assert read.start_index == 120 and read.end_index == 150
    np.testing.assert_array_equal(read.samples, np.arange(120, 150))
    assert read.fs == 250.0 and read.last_seq == 1


def test_old_samples_fall_out_of_the_ring(store):
    for seq in range(30):  # 30 chunks of 50 samples = 6 s at 250 Hz; capacity 4 s
        store.append("bed-1", 250.0, seq, np.full(50, seq, np.float32))
    read = store.read("bed-1", 0)
    assert read.end_index == 1500
    assert read.start_index >= 1500 - 1000 - 4096  # Redis trims approximately
    assert read.samples[-1] == 29 and len(read.samples) == read.end_index - read.start_index
    assert store.read("bed-1", 0, max_samples=100).start_index == 1400


def test_a_duplicate_or_out_of_order_chunk_changes_nothing(store):
    store.append("bed-1", 250.0, 5, np.ones(10, np.float32))
    for seq in (5, 3):
        result = store.append("bed-1", 250.0, seq, np.full(10, 9.0, np.float32))
        assert not result.accepted and result.reason == "duplicate"
    read = store.read("bed-1", 0)
    np.testing.assert_array_equal(read.samples, np.ones(10))
    assert store.counters("bed-1") == {"accepted": 1, "duplicate": 2}


def test_beds_do_not_share_samples(store):
    store.append("bed-1", 250.0, 0, np.ones(10, np.float32))
    store.append("bed-2", 250.0, 0, np.full(20, 2.0, np.float32))
    assert store.read("bed-1", 0).end_index == 10
    np.testing.assert_array_equal(store.read("bed-2", 0).samples, np.full(20, 2.0))
    assert store.read("bed-3", 0).fs is None


def test_run_once_and_rate_limit(store):
    assert store.run_once("k", 1.0, now=100.0)
    assert not store.run_once("k", 1.0, now=100.2)
    allowed = [store.take_rate("dev", 3, now=200.5) for _ in range(5)]
    assert allowed == [True, True, True, False, False]
