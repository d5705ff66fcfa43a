"""Case tasks: thin, take ids, call services, idempotent under redelivery."""

from celery import shared_task
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from outbox.tasks import completes_outbox

from . import services
from .intake import render_owed_notice
from .models import Notice


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
    """The beat entry: expire due appeal windows and refer the cases, in bounded batches."""
    return services.sweep_deadlines()


@shared_task(acks_late=True)
def purge_idempotency_records() -> int:
    """The beat entry: forget ``Idempotency-Key`` answers older than ``IDEMPOTENCY_TTL``."""
    return services.purge_idempotency_records()


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=30, max_retries=8)
@completes_outbox
def send_notice_task(notice_id: int) -> bool:
    """Send a notice e-mail once: the row is marked sent and a sent notice is skipped."""
    notice = Notice.objects.filter(pk=notice_id, sent_at__isnull=True).first()
    if notice is None:
        return False
    notice = render_owed_notice(notice)  # stored before sending: the row records what was sent
    message = EmailMultiAlternatives(
        subject=notice.subject, body=notice.body, to=[notice.recipient]
    )
    if notice.html_body:
        message.attach_alternative(notice.html_body, "text/html")
    message.send()
    Notice.objects.filter(pk=notice_id, sent_at__isnull=True).update(sent_at=timezone.now())
    return True
