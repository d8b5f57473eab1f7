"""Health checks for load balancers and orchestrators: no login, no session."""

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse


@login_not_required
def healthz(request):
    return JsonResponse({"status": "ok"})


@login_not_required
def readyz(request):
    """Ready when the database answers and, if one is configured, the broker does."""
    from django.conf import settings

    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report any failure as not ready
        checks["database"] = f"error: {exc.__class__.__name__}"
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        from celery import current_app as app

        try:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            checks["broker"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["broker"] = f"error: {exc.__class__.__name__}"
    ok = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503)
