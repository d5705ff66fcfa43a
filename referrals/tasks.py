"""Delivery tasks: thin, take ids, idempotent, retry only what is transient.

They are owed through the outbox (``referrals.services`` enqueues them in the transaction that
made the referral or retraction); finishing, or giving up, marks the outbox message done, and a
scheduled retry keeps it leased until after the retry.
"""

from celery import shared_task
from django.conf import settings

from outbox.tasks import completes_outbox

from .choices import AttemptKind, AttemptOutcome, ReferralStatus
from .models import Referral
from .services import make_pull_available, mark_pushed, park_failed, park_failed_retraction, push


def _backoff(retries: int) -> float:
    """Exponential: base, 2×base, 4×base … capped at DELIVERY_BACKOFF_MAX_SECONDS."""
    cap = getattr(settings, "DELIVERY_BACKOFF_MAX_SECONDS", 3600)
    return min(settings.DELIVERY_BACKOFF_SECONDS * (2**retries), cap)


@shared_task(bind=True, acks_late=True, max_retries=None)
@completes_outbox
def deliver_referral(self, referral_id: int) -> str:
    """Deliver one referral: pull authorities get it made available, push ones get a POST."""
    referral = Referral.objects.select_related("authority").filter(pk=referral_id).first()
    if referral is None or referral.status != ReferralStatus.PENDING:
        return "nothing to do"
    if not referral.authority.webhook_url:
        make_pull_available(referral_id)
        return "available to pull"
    result = push(referral, AttemptKind.PACKET)
    if result.outcome == AttemptOutcome.SUCCESS:
        mark_pushed(referral_id, AttemptKind.PACKET)
        return "pushed"
    if result.outcome == AttemptOutcome.RETRY and self.request.retries < (
        settings.DELIVERY_MAX_RETRIES
    ):
        raise self.retry(countdown=_backoff(self.request.retries))
    park_failed(referral_id)
    return "failed"


@shared_task(bind=True, acks_late=True, max_retries=None)
@completes_outbox
def deliver_retraction(self, referral_id: int) -> str:
    """Push a retraction to an authority's webhook; pull authorities read the status."""
    referral = Referral.objects.select_related("authority").filter(pk=referral_id).first()
    if (
        referral is None
        or referral.status != ReferralStatus.RETRACTED
        or referral.retraction_delivered_at is not None
    ):
        return "nothing to do"
    if not referral.authority.webhook_url:
        mark_pushed(referral_id, AttemptKind.RETRACTION)
        return "available to pull"
    result = push(referral, AttemptKind.RETRACTION)
    if result.outcome == AttemptOutcome.SUCCESS:
        mark_pushed(referral_id, AttemptKind.RETRACTION)
        return "pushed"
    if result.outcome == AttemptOutcome.RETRY and self.request.retries < (
        settings.DELIVERY_MAX_RETRIES
    ):
        raise self.retry(countdown=_backoff(self.request.retries))
    park_failed_retraction(referral_id)
    return "failed"
