"""dashboard/monitoring.py and its routes: device ingest, the feed, vital signs, alarms."""

from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace

import numpy as np
import pytest
from sqlalchemy import select

from dashboard.live_ingest import encode_binary
from dashboard.models import AuditEvent, MonitorAlarm, MonitorDevice, PatientProfile
from dashboard.monitoring import REPLAY_FS, token_digest
from pipeline.rhythm_cnn import ShockAdvisory
from tests.conftest import TEST_ACTOR, login

ADMIN = TEST_ACTOR


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def monitor(app):
    monitor = app.ecg_services.monitor
    monitor.clock = Clock()
    monitor.classifier = lambda: None
    monitor.shock_advisory = lambda: None
    monitor.load_rhythm_models()  # the tests set their own classifiers; none loads in the background
    return monitor


def add_patient(database, patient_id: str, doctor_id: str | None) -> None:
    with database.transaction() as db:
        db.add(
            PatientProfile(
                patient_id=patient_id,
                name=f"Patient {patient_id}",
                age=60,
                gender="Female",
                address="1 Ward Road",
                email="p@example.org",
                personal_contact=1,
                emergency_contact=2,
                doctor_id=doctor_id,
                created_at=datetime(2026, 1, 1),
                staff_username="staff.test",
            )
        )


def chunk(seq: int, samples, fs: float = 250.0) -> bytes:
    return json.dumps({"seq": seq, "fs": fs, "samples": [float(v) for v in samples]}).encode()


def post(client, token: str | None, body: bytes, kind: str = "application/json"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/api/monitor/ingest", data=body, content_type=kind, headers=headers)


# --- Ingest ------------------------------------------------------------------------------


def test_device_tokens_are_stored_hashed_and_shown_once(monitor, database):
    monitor.create_bed(ADMIN, "icu-1", "ICU 1")
    device_id, token = monitor.create_device(ADMIN, "icu-1", "monitor 7")
    assert token.startswith("ecgdev_") and len(token) > 40
    with database.transaction() as db:
        device = db.get(MonitorDevice, device_id)
        assert device.token_sha256 == token_digest(token) and token not in device.token_sha256
        actions = set(db.scalars(select(AuditEvent.action)))
    assert {"monitor_bed_created", "monitor_device_created"} <= actions


def test_ingest_accepts_json_and_binary_and_refuses_bad_chunks_without_corrupting_other_beds(monitor, client):
    monitor.create_bed(ADMIN, "icu-1", "ICU 1")
    monitor.create_bed(ADMIN, "icu-2", "ICU 2")
    _, token = monitor.create_device(ADMIN, "icu-1", "a")
    _, other = monitor.create_device(ADMIN, "icu-2", "b")
    assert post(client, token, chunk(1, np.zeros(50))).status_code == 202
    binary = encode_binary(2, 250.0, np.full(50, 0.5), int16_scale_mv=0.005)
    assert post(client, token, binary, "application/octet-stream").status_code == 202
    assert post(client, other, chunk(1, np.ones(25))).status_code == 202

    assert post(client, None, chunk(3, [0])).status_code == 401
    assert post(client, "ecgdev_wrong", chunk(3, [0])).status_code == 401
    assert post(client, token, chunk(2, np.full(50, 9.0))).status_code == 409  # duplicate
    assert post(client, token, chunk(1, np.full(50, 9.0))).status_code == 409  # out of order
    assert post(client, token, b'{"seq": 4, "fs": 250, "samples": [NaN, 1]}').status_code == 422
    assert post(client, token, b"garbage").status_code == 400
    assert post(client, token, b"1,2", "text/csv").status_code == 415

    read = monitor.store.read("icu-1", 0)
    assert read.end_index == 100 and read.last_seq == 2
    np.testing.assert_allclose(read.samples[50:], 0.5, atol=0.005)
    np.testing.assert_array_equal(monitor.store.read("icu-2", 0).samples, np.ones(25))
    overview = {row["bed_id"]: row for row in monitor.admin_overview()}
    assert overview["icu-1"]["accepted"] == 2 and overview["icu-1"]["duplicate"] == 2
    assert overview["icu-1"]["nan"] == 1 and overview["icu-1"]["malformed"] == 2
    assert overview["icu-2"]["accepted"] == 1 and overview["icu-2"]["duplicate"] == 0
    assert overview["(no valid token)"]["bad_token"] == 2


def test_a_flooding_device_is_rate_limited_and_a_revoked_token_refused(monitor, client):
    monitor.create_bed(ADMIN, "icu-1", "ICU 1")
    device_id, token = monitor.create_device(ADMIN, "icu-1", "a")
    monitor.ingest_rate_per_s = 5
    statuses = [post(client, token, chunk(seq, [0.0])).status_code for seq in range(8)]
    assert statuses == [202] * 5 + [429] * 3
    response = post(client, token, chunk(99, [0.0]))
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    monitor.clock.now += 1.0
    assert post(client, token, chunk(100, [0.0])).status_code == 202
    monitor.revoke_device(ADMIN, device_id)
    assert post(client, token, chunk(101, [0.0])).status_code == 401
    counters = monitor.store.counters("icu-1")
    assert counters["rate_limited"] == 4 and counters["revoked_token"] == 1


# --- Who sees which bed --------------------------------------------------------------------


def test_the_feed_needs_a_session_and_shows_only_the_beds_one_may_see(monitor, app, client, users, database):
    add_patient(database, "P-MINE", "dr.test")
    add_patient(database, "P-OTHER", None)  # not this doctor's
    monitor.create_bed(ADMIN, "mine", "Mine", patient_id="P-MINE", source="replay:mitdb-100")
    monitor.create_bed(ADMIN, "other", "Other", patient_id="P-OTHER", source="replay:mitdb-100")
    assert client.get("/api/monitor/feed?cursor=mine:-1").status_code == 401

    login(client, "doctor", *users["doctor"])
    beds = client.get("/api/monitor/feed?cursor=mine:-1,other:-1").get_json()["beds"]
    assert [bed["bed_id"] for bed in beds] == ["mine"]
    assert beds[0]["reset"] and len(beds[0]["samples"]) == int(8 * REPLAY_FS)

    staff = app.server.test_client()
    login(staff, "staff", *users["staff"])
    beds = staff.get("/api/monitor/feed?cursor=mine:-1,other:-1").get_json()["beds"]
    assert [bed["bed_id"] for bed in beds] == ["mine", "other"]


def test_the_feed_sends_only_new_samples_and_resets_after_a_restart(monitor, client, users):
    monitor.create_bed(ADMIN, "demo", "Demo", source="replay:mitdb-100")
    login(client, "staff", *users["staff"])
    first = client.get("/api/monitor/feed?cursor=demo:-1").get_json()["beds"][0]
    monitor.clock.now += 0.1
    second = client.get(f"/api/monitor/feed?cursor=demo:{first['end']}").get_json()["beds"][0]
    assert not second["reset"] and second["start"] == first["end"]
    assert len(second["samples"]) == pytest.approx(25, abs=1)
    # A browser whose cursor is past the buffer (the server restarted) starts afresh.
    third = client.get(f"/api/monitor/feed?cursor=demo:{second['end'] + 10**6}").get_json()["beds"][0]
    assert third["reset"]


# --- Vital signs and alarms ------------------------------------------------------------------


def feed_once(monitor, bed_id: str, actor=ADMIN):
    actor = SimpleNamespace(role="admin", account_id="admin.test", client_ip=None)
    return monitor.feed(actor, {bed_id: -1})["beds"][0]


def test_heart_rate_from_a_replayed_record_and_rhythm_not_classified_without_the_cnn(monitor):
    monitor.create_bed(ADMIN, "demo", "Demo", source="replay:mitdb-100")
    vitals = feed_once(monitor, "demo")["vitals"]
    assert vitals["state"] == "ok"
    assert 60 <= vitals["hr_bpm"] <= 90  # MIT-BIH 100: sinus rhythm about 75 bpm
    assert vitals["rhythm"] is None and "not classified" in vitals["rhythm_note"]
    assert vitals["alarms"] == []


def test_hr_limits_raise_an_alarm_with_its_strip(monitor, database):
    monitor.create_bed(ADMIN, "demo", "Demo", source="replay:mitdb-100", hr_low_bpm=30, hr_high_bpm=50)
    alarms = feed_once(monitor, "demo")["vitals"]["alarms"]
    assert [a["kind"] for a in alarms] == ["hr_high"]
    with database.transaction() as db:
        alarm = db.scalar(select(MonitorAlarm))
        strip = json.loads(alarm.strip_json)
    assert strip["fs"] == REPLAY_FS and len(strip["samples_mv"]) == int(8 * REPLAY_FS)  # all there is
    assert not strip["complete"]
    for _ in range(6):  # 6 s later the strip also holds the 5 s after the detection
        monitor.clock.now += 1.0
        feed_once(monitor, "demo")
    with database.transaction() as db:
        strip = json.loads(db.scalar(select(MonitorAlarm)).strip_json)
    assert strip["complete"] and len(strip["samples_mv"]) == int(13 * REPLAY_FS)
    assert strip["detected_index"] - strip["start_index"] == int(8 * REPLAY_FS)


class FakeCnn:
    """A classifier that gives every 10-s strip the same class probabilities."""

    def __init__(self, probabilities: dict[str, float]):
        self.probabilities = probabilities

    def classify(self, lead_mv, fs, *, lead):
        assert len(lead_mv) == int(10 * fs)
        label = max(self.probabilities, key=self.probabilities.get)
        return SimpleNamespace(
            label=label, confidence=self.probabilities[label], probabilities=self.probabilities
        )


# Split between VF and VT, each below Normal: the most probable class is Normal, the VF/VT call is made.
SPLIT_VF_VT = {"Normal": 0.35, "VF": 0.35, "VT": 0.30}


def vitals_once_classified(monitor, *, classifier=None, advisory=None, reason=None) -> dict:
    """A vfdb 418 replay's vitals once the CNN has classified its first 10 s."""
    monitor.create_bed(ADMIN, "demo", "Demo", source="replay:vfdb-418")
    monitor.classifier = lambda: classifier
    monitor.shock_advisory = lambda: advisory
    monitor.unclassified_reason = lambda: reason
    feed_once(monitor, "demo")  # 8 s buffered: not yet 10 s for the CNN
    monitor.clock.now += 2.5
    return feed_once(monitor, "demo")["vitals"]


def test_the_validated_vf_vt_call_raises_one_alarm_and_acknowledging_is_audited(monitor, database):
    advisory = ShockAdvisory(FakeCnn(SPLIT_VF_VT), threshold=0.6)
    vitals = vitals_once_classified(monitor, advisory=advisory, reason="macro-F1 missed")
    # Only the VF/VT call is validated: the tile names that call, not the model's rhythm (Normal).
    assert vitals["rhythm"] == "VF/VT" and vitals["rhythm_probability"] == 0.65
    alarm = [a for a in vitals["alarms"] if a["kind"] == "vf_vt"]
    assert alarm and alarm[0]["active"] and "p = 0.65" in alarm[0]["message"]

    nurse = SimpleNamespace(role="staff", account_id="staff.test", client_ip="127.0.0.1")
    monitor.acknowledge(nurse, alarm[0]["id"])
    with database.transaction() as db:
        row = db.get(MonitorAlarm, alarm[0]["id"])
        assert row.acknowledged_by_id == "staff.test" and row.acknowledged_at is not None
        audit = db.scalar(select(AuditEvent).where(AuditEvent.action == "acknowledge_alarm"))
        assert audit.actor_id == "staff.test"
    monitor.clock.now += 1.1
    assert not [a for a in feed_once(monitor, "demo")["vitals"]["alarms"] if a["kind"] == "vf_vt"]


def test_below_the_threshold_there_is_no_vf_vt_alarm_and_the_tile_says_what_is_not_classified(monitor):
    advisory = ShockAdvisory(FakeCnn(SPLIT_VF_VT), threshold=0.7)
    vitals = vitals_once_classified(monitor, advisory=advisory, reason="macro-F1 missed")
    assert vitals["alarms"] == [] and vitals["rhythm"] is None
    assert vitals["rhythm_note"] == "no VF/VT; other rhythms not classified: macro-F1 missed"
    assert vitals["vf_vt"] is False and vitals["vf_vt_probability"] == 0.65


def test_without_a_validated_call_the_model_raises_no_vf_vt_alarm(monitor):
    # Neither the rhythm nor the VF/VT call is validated.
    vitals = vitals_once_classified(monitor, reason="VF called VF/VT >= 95 % missed")
    assert vitals["alarms"] == [] and vitals["rhythm"] is None
    assert vitals["rhythm_note"] == "rhythm not classified: VF called VF/VT >= 95 % missed"


def test_a_validated_rhythm_is_named_and_its_vf_vt_call_still_raises_the_alarm(monitor):
    cnn = FakeCnn({"Normal": 0.1, "VF": 0.2, "VT": 0.7})
    vitals = vitals_once_classified(monitor, classifier=cnn, advisory=ShockAdvisory(cnn, threshold=0.6))
    assert vitals["rhythm"] == "VT" and vitals["rhythm_probability"] == 0.7
    assert [a["kind"] for a in vitals["alarms"]] == ["vf_vt"]


def test_asystole_then_signal_lost(monitor, client):
    monitor.create_bed(ADMIN, "icu-1", "ICU 1")
    _, token = monitor.create_device(ADMIN, "icu-1", "a")
    rng = np.random.default_rng(1)
    for seq in range(6):  # 6 s of baseline noise, no QRS
        assert post(client, token, chunk(seq, rng.normal(0, 0.01, 250))).status_code == 202
    vitals = feed_once(monitor, "icu-1")["vitals"]
    assert [a["kind"] for a in vitals["alarms"]] == ["asystole"]
    monitor.clock.now += 2.1  # no chunk since: the technical alarm within 3 s
    vitals = feed_once(monitor, "icu-1")["vitals"]
    assert vitals["state"] == "signal_lost"
    kinds = {a["kind"]: a["active"] for a in vitals["alarms"]}
    assert kinds == {"signal_lost": True, "asystole": False}  # asystole latches until acknowledged


# --- The migration --------------------------------------------------------------------------


def check_monitoring_tables(url: str) -> None:
    from sqlalchemy import inspect

    from dashboard.db import Database
    from dashboard.migrate import upgrade_to_head

    database = Database(url)
    upgrade_to_head(database)
    tables = set(inspect(database.engine).get_table_names())
    assert {"monitor_bed", "monitor_device", "monitor_alarm"} <= tables
    database.dispose()


def test_migration_0006_on_sqlite(tmp_path):
    check_monitoring_tables(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")


@pytest.mark.mysql
def test_migration_0006_on_mariadb(mysql_database_url):
    check_monitoring_tables(mysql_database_url)


# --- The pages' callbacks -----------------------------------------------------------------


def test_the_wall_and_bed_pages_show_only_permitted_beds(monitor, app, client, users, database):
    from tests.conftest import call

    add_patient(database, "P-OTHER", None)
    monitor.create_bed(ADMIN, "open", "Open bed", source="replay:mitdb-100")
    monitor.create_bed(ADMIN, "other", "Other", patient_id="P-OTHER")
    login(client, "doctor", *users["doctor"])
    wall = call(client, app, "..monitor-wall-grid.children...monitor-wall-grid.style..", {})
    text = wall.get_data(as_text=True)
    assert wall.status_code == 200 and "monitor-trace-open" in text and "monitor-trace-other" not in text
    bed = call(client, app, "monitor-bed-tile.children", {"monitor-bed-request.data": {"bed_id": "other"}})
    assert "not one you may see" in bed.get_data(as_text=True)
    with database.transaction() as db:
        denied = db.scalars(select(AuditEvent).where(AuditEvent.action == "access_denied")).all()
    assert any(row.target == "bed other" for row in denied)


def test_the_admin_page_creates_a_device_token_and_shows_counters(monitor, app, client, users):
    from tests.conftest import call

    monitor.create_bed(ADMIN, "icu-1", "ICU 1")
    login(client, "admin", *users["admin"])
    output = (
        "..monitor-admin-table.children...monitor-device-bed.options...monitor-new-bed-source.options"
        "...monitor-admin-feedback.children.."
    )
    response = call(
        client,
        app,
        output,
        {
            "monitor-new-device.n_clicks": 1,
            "monitor-device-bed.value": "icu-1",
            "monitor-device-label.value": "m",
        },
        changed=["monitor-new-device.n_clicks"],
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "ecgdev_" in text and "rate limited" in text
    token = text.split("ecgdev_")[1].split('"')[0]
    assert post(client, "ecgdev_" + token, chunk(1, [0.1])).status_code == 202


def test_ingest_and_feed_through_redis_shared_by_two_workers(monitor, app, client, users):
    """Two app workers (two LiveMonitors) on one Redis: a chunk taken by one is read by the other."""
    import uuid

    from dashboard.live_buffer import RedisStreamStore
    from dashboard.monitoring import LiveMonitor

    try:
        store = RedisStreamStore("redis://127.0.0.1:6379/0", prefix=f"ecg:test:{uuid.uuid4().hex}")
        store.redis.ping()
    except Exception:
        pytest.skip("no Redis on 127.0.0.1:6379")
    try:
        monitor.store = store
        other = LiveMonitor(monitor.database, store, classifier=lambda: None, clock=monitor.clock)
        monitor.create_bed(ADMIN, "icu-1", "ICU 1")
        _, token = monitor.create_device(ADMIN, "icu-1", "a")
        assert post(client, token, chunk(1, np.full(250, 0.2))).status_code == 202
        assert post(client, token, chunk(1, np.full(250, 9.0))).status_code == 409
        bed = other.feed(SimpleNamespace(role="staff", account_id="s", client_ip=None), {"icu-1": -1})[
            "beds"
        ][0]
        assert bed["end"] == 250 and set(bed["samples"]) == {0.2}
        assert other.store.counters("icu-1") == {"accepted": 1, "duplicate": 1}
    finally:
        for key in store.redis.scan_iter(f"{store.prefix}:*"):
            store.redis.delete(key)


def test_an_oversized_chunk_is_refused_without_reading_it_all(monitor, client):
    monitor.create_bed(ADMIN, "icu-1", "ICU 1")
    _, token = monitor.create_device(ADMIN, "icu-1", "a")
    response = post(client, token, b"[" + b"0," * 500_000 + b"0]")
    assert response.status_code == 413
    assert monitor.store.counters("icu-1") == {"malformed": 1}


def test_a_patients_stored_recording_replays_on_that_patients_bed_only(monitor, app, database):
    from dashboard.ecg_records import recordings_dir
    from dashboard.models import EcgRecording
    from dashboard.monitoring import MonitorError
    from dashboard.sample_library import sample_by_key
    from pipeline.load import load_ecg

    add_patient(database, "P-1", None)
    add_patient(database, "P-2", None)
    ecg = load_ecg(sample_by_key("mitdb-100").path)
    folder = recordings_dir(app.ecg_services.settings)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(
        folder / "rec1.npz", signal_mv=np.asarray(ecg.signal_mv[: 60 * 360], np.float32), fs=np.float64(360)
    )
    with database.transaction() as db:
        db.add(
            EcgRecording(
                recording_id="rec1",
                patient_id="P-1",
                stored_name="rec1.npz",
                source_name="100.hea",
                record_name="100",
                fs=360.0,
                n_samples=60 * 360,
                lead_names="MLII,V5",
                uploaded_at=datetime(2026, 1, 1),
                uploaded_by_role="doctor",
                uploaded_by_id="dr.test",
                analysis_json="{}",
            )
        )
    with pytest.raises(MonitorError):
        monitor.create_bed(ADMIN, "bed-2", "Bed 2", patient_id="P-2", source="recording:rec1")
    bed = monitor.create_bed(ADMIN, "bed-1", "Bed 1", source="recording:rec1")
    assert bed.patient_id == "P-1"
    vitals = feed_once(monitor, "bed-1")["vitals"]
    assert 60 <= vitals["hr_bpm"] <= 90


def test_the_bed_page_names_every_kind_of_alarm():
    from components.monitor import ALARM_NAMES
    from dashboard.monitoring import ALARM_KINDS

    assert set(ALARM_NAMES) == set(ALARM_KINDS)


def test_a_poll_never_waits_for_the_classifier_to_load(app):
    import threading

    from dashboard.live_buffer import MemoryStreamStore
    from dashboard.monitoring import LiveMonitor

    released = threading.Event()

    def slow_advisory():  # TensorFlow and the weights take seconds to load
        released.wait(10)
        return None

    monitor = LiveMonitor(
        app.ecg_services.database, MemoryStreamStore(), classifier=lambda: None, shock_advisory=slow_advisory
    )
    strip = np.zeros(int(10 * REPLAY_FS))
    assert monitor._classify(strip, REPLAY_FS).note == "rhythm: loading the classifier"  # at once
    released.set()
    monitor._rhythm_loader.join(10)
    assert monitor._classify(strip, REPLAY_FS).note.startswith("rhythm not classified")
