"""The HTTP side of live monitoring: the device ingest route and the browsers' feed.

* `POST /api/monitor/ingest` — a bedside device's chunk. Not a session route: the session
  gate lets it through (`DEVICE_ROUTES` in dashboard.auth) and this view authenticates the
  `Authorization: Bearer <device token>` itself; the bed is the token's, never a name the
  device sends.
* `GET /api/monitor/feed?cursor=<bed>:<index>,...` — new samples and vital signs of the beds
  the logged-in user may see (session and roles checked by the gate; beds by the service).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from dashboard.auth import ALL_ROLES, current_user, requires_roles
from dashboard.live_ingest import MAX_CHUNK_BYTES

INGEST_PATH = "/api/monitor/ingest"


def monitor_blueprint() -> Blueprint:
    blueprint = Blueprint("monitor", __name__)
    blueprint.add_url_rule(INGEST_PATH, "ingest", ingest, methods=["POST"])
    blueprint.add_url_rule("/api/monitor/feed", "feed", feed, methods=["GET"])
    return blueprint


def _monitor():
    return current_app.config["ECG_MONITOR"]


def ingest() -> Response:
    # Never more than one chunk's limit is read: a larger body is refused (413) by the parser.
    body = request.stream.read(MAX_CHUNK_BYTES + 1)
    outcome = _monitor().ingest(request.headers.get("Authorization"), body, request.content_type)
    response = jsonify(outcome.body)
    response.status_code = outcome.status
    if outcome.status == 429:
        response.headers["Retry-After"] = "1"
    return response


@requires_roles(*ALL_ROLES)
def feed() -> Response:
    cursors: dict[str, int] = {}
    for part in request.args.get("cursor", "").split(",")[:16]:
        bed_id, _, index = part.partition(":")
        try:
            cursors[bed_id[:32]] = int(index)
        except ValueError:
            continue
    return jsonify(_monitor().feed(current_user().actor(), cursors))
