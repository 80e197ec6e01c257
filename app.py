"""Entry point. `python app.py` serves on the embedded defaults; `gunicorn app:server` in
production; `celery -A app.celery_app worker` runs background jobs when Celery is set up."""

import sys

from dashboard import StartupError, create_app, serve

try:
    app = create_app()
except StartupError as exc:
    sys.exit(f"ECG dashboard cannot start: {exc}")

server = app.server
celery_app = app.ecg_celery

if __name__ == "__main__":
    serve(app)
