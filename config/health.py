"""``/healthz``: is this process able to do its work, and is any work overdue?

For a load balancer (the status code) and for humans (the JSON body). 200 when the database and
the broker answer, 503 otherwise; overdue work (owed outbox messages, due cases not swept) is
reported as ``degraded`` with 200, since a restart of this web process would not fix it.
"""

from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu.exceptions import OperationalError

OVERDUE_AFTER = timedelta(minutes=10)


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else round(delta.total_seconds(), 1)


def check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return False, type(exc).__name__
    return True, "ok"


def check_broker() -> tuple[bool, str]:
    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except (OperationalError, OSError) as exc:
        return False, type(exc).__name__
    return True, "ok"


def overdue_work() -> dict[str, float | None]:
    from counterfeits.choices import CaseState
    from counterfeits.models import Case
    from outbox.services import oldest_owed_age

    now = timezone.now()
    oldest_due = (
        Case.objects.filter(state=CaseState.ACCOUNT_CLOSED, appeal_deadline__lte=now)
        .order_by("appeal_deadline")
        .values_list("appeal_deadline", flat=True)
        .first()
    )
    return {
        "oldest_undelivered_outbox_seconds": _seconds(oldest_owed_age()),
        "oldest_unswept_deadline_seconds": _seconds(now - oldest_due if oldest_due else None),
    }


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    db_ok, db_detail = check_database()
    broker_ok, broker_detail = check_broker()
    body: dict[str, object] = {
        "database": db_detail,
        "broker": broker_detail,
        "appeal_window": settings.APPEAL_WINDOW.total_seconds(),
    }
    status = "ok"
    if db_ok:
        lag = overdue_work()
        body.update(lag)
        limit = OVERDUE_AFTER.total_seconds()
        if any(v is not None and v > limit for v in lag.values()):
            status = "degraded"
    if not (db_ok and broker_ok):
        status = "down"
    body["status"] = status
    return JsonResponse(body, status=503 if status == "down" else 200)
