"""ECG_MAX_UPLOAD_MB: a request body over the limit is refused with a message, not a crash."""

from __future__ import annotations

from dashboard import create_app
from dashboard.accounts import Role, create_account
from tests.conftest import TEST_ACTOR, login, settings_for


def test_a_body_over_the_upload_limit_is_refused_with_a_message(tmp_path):
    app = create_app(settings_for(tmp_path, environ={"ECG_MAX_UPLOAD_MB": "1"}))
    with app.ecg_services.database.transaction() as session:
        create_account(session, TEST_ACTOR, Role.DOCTOR, "dr.upload", "Dr. Upload", "long-password-1")
    client = app.server.test_client()
    login(client, "doctor", "dr.upload", "long-password-1")
    # Uploads travel base64-encoded (4/3 of the file) inside a callback's JSON body.
    body = b'{"output": "home-cards.children", "file": "' + b"A" * (3 * 1024 * 1024) + b'"}'
    response = client.post("/_dash-update-component", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json() == {"error": "The file is larger than the upload limit of 1 MB."}
