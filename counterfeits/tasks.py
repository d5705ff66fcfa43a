"""Case tasks: thin, take ids, call services, idempotent under redelivery."""

import logging

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.utils import timezone
from kombu.exceptions import OperationalError

from outbox.tasks import completes_outbox

from . import services
from .intake import render_owed_notice
from .models import Notice

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
@completes_outbox
def close_account_task(case_id: int) -> bool:
    """Close the seller's account for a confirmed case; a no-op if already done."""
    return services.close_account(case_id) is not None


@shared_task(acks_late=True)
@completes_outbox
def refer_case_task(case_id: int) -> int:
    return len(services.refer_case(case_id))


@shared_task(acks_late=True)
def sweep_deadlines() -> int:
    """The beat entry: expire due appeal windows and refer the cases, in bounded batches.

    When more than a batch is due it queues ``SWEEP_WORKERS - 1`` helpers, so that other
    worker processes sweep beside it (on PostgreSQL, whose ``SKIP LOCKED`` claims let them
    share the cases; each case is still referred once).
    """
    return services.sweep_deadlines(on_backlog=_queue_sweep_helpers)


@shared_task(acks_late=True)
def sweep_deadlines_helper() -> int:
    """A second (third, …) sweeper beside the beat's, for a backlog; queues no helper itself."""
    return services.sweep_deadlines()


def _queue_sweep_helpers() -> None:
    if not connection.features.has_select_for_update_skip_locked:
        return
    for _ in range(settings.SWEEP_WORKERS - 1):
        try:
            sweep_deadlines_helper.delay()
        except (OperationalError, OSError) as exc:
            # The broker is down: this sweep carries on alone, as it would have without help.
            log.warning("sweep helper not queued: %s", exc)
            return


@shared_task(acks_late=True)
def purge_idempotency_records() -> int:
    """The beat entry: forget ``Idempotency-Key`` answers older than ``IDEMPOTENCY_TTL``."""
    return services.purge_idempotency_records()


@shared_task(bind=True, acks_late=True, max_retries=8)
@completes_outbox
def send_notice_task(self, notice_id: int) -> bool:
    """Send a notice e-mail once: the row is marked sent and a sent notice is skipped.

    The mail server down (``OSError``, ``SMTPException`` included) is retried with jittered
    backoff (30 s doubling, at most 10 min apart). The retry is raised here, inside
    ``completes_outbox``, which keeps the message leased until after it: Celery's
    ``autoretry_for`` retried outside it, and the relay then published a second copy beside the
    pending retry (one more for every lease that ran out), each able to send the e-mail.
    """
    notice = Notice.objects.filter(pk=notice_id, sent_at__isnull=True).first()
    if notice is None:
        return False
    notice = render_owed_notice(notice)  # stored before sending: the row records what was sent
    message = EmailMultiAlternatives(
        subject=notice.subject, body=notice.body, to=[notice.recipient]
    )
    if notice.html_body:
        message.attach_alternative(notice.html_body, "text/html")
    try:
        message.send()
    except OSError as exc:
        countdown = get_exponential_backoff_interval(
            factor=30, retries=self.request.retries, maximum=600, full_jitter=True
        )
        raise self.retry(exc=exc, countdown=countdown) from exc
    Notice.objects.filter(pk=notice_id, sent_at__isnull=True).update(sent_at=timezone.now())
    return True
