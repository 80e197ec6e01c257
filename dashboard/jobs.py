"""The background-callback manager: Diskcache under instance/ by default, Celery + Redis
when ECG_CELERY_BROKER_URL is set (run workers with `celery -A app.celery_app worker`)."""

from __future__ import annotations

from dash import CeleryManager, DiskcacheManager

from dashboard.config import Settings

# Results of finished jobs are kept this long for the browser to collect (seconds).
RESULT_EXPIRY_S = 3600


def build_background_manager(settings: Settings, celery_app=None):
    if settings.celery_broker_url:
        return CeleryManager(celery_app or make_celery(settings), expire=RESULT_EXPIRY_S)
    import diskcache

    cache = diskcache.Cache(str(settings.cache_dir))
    return DiskcacheManager(cache, expire=RESULT_EXPIRY_S)


def make_celery(settings: Settings):
    from celery import Celery

    return Celery(
        "ecg_dashboard",
        broker=settings.celery_broker_url,
        backend=settings.celery_broker_url,
    )
