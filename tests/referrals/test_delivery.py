"""Push delivery through a real Celery worker to a real, flaky HTTP receiver on 127.0.0.1."""

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from outbox.models import OutboxMessage
from referrals.choices import AttemptKind, AttemptOutcome, ReferralStatus
from referrals.models import DeliveryAttempt, Referral
from referrals.services import retract_referrals, retry_failed_delivery, retry_failed_retraction
from tests.helpers import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]

SECRET = "shared-webhook-secret-for-tests"
TIMEOUT = 0.5  # DELIVERY_TIMEOUT_SECONDS in these tests
BACKOFF = 0.4  # DELIVERY_BACKOFF_SECONDS: attempts come 0.4 s, 0.8 s, 1.6 s … apart


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` answering on 127.0.0.1 in threads, for the duration; yields the webhook URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/touchstone"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Receiver:
    """An authority's webhook: answers from a script, dedupes by Idempotency-Key like a real one.

    Script steps: an HTTP status to answer, or ``"hang"`` to answer 200 only after the sender's
    timeout (the message was stored, but the sender never heard so). After the script it accepts.
    """

    script: list
    requests: list[dict] = field(default_factory=list)
    stored: dict[str, dict] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers["Content-Length"]))
        arrived = time.monotonic()
        with self.lock:
            step = self.script.pop(0) if self.script else 200
            self.requests.append({"at": arrived, "headers": dict(handler.headers), "body": body})
        if step == "hang":
            time.sleep(TIMEOUT * 3)
            step = 200
        if step == 200:
            with self.lock:  # a repeated Idempotency-Key is acknowledged but not stored again
                self.stored.setdefault(handler.headers["Idempotency-Key"], json.loads(body))
        handler.send_response(step)
        handler.send_header("Content-Length", "0")
        handler.end_headers()


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver(script=[])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            try:
                state.handle(self)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender timed out and went away: that is the point of "hang"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    with serving(Handler) as url:
        yield state, url


@pytest.fixture
def push_authority(authorities, receiver, settings):
    """US-IPRC with a webhook at the local receiver (plain http, allowed for it); fast timeouts
    and backoff."""
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.DELIVERY_TIMEOUT_SECONDS = TIMEOUT
    settings.DELIVERY_BACKOFF_SECONDS = BACKOFF
    settings.DELIVERY_MAX_RETRIES = 4
    authority = authorities["US-IPRC"]
    authority.webhook_url = receiver[1]
    authority.webhook_secret = SECRET
    authority.save(update_fields=["webhook_url", "webhook_secret"])
    return authority


def delivery_owed(referral_id: int) -> bool:
    """Whether the outbox still owes a delivery of this referral (the task has not finished)."""
    return OutboxMessage.objects.filter(
        task="referrals.tasks.deliver_referral", args=[referral_id], done_at__isnull=True
    ).exists()


def status_of(referral_id: int) -> str:
    return Referral.objects.values_list("status", flat=True).get(pk=referral_id)


def valid_push(timestamp: str, body: bytes, header: str) -> bool:
    """The receiver's check, as docs/authority-api.md section 6 gives it."""
    if abs(time.time() - int(timestamp)) > 300:
        return False
    mac = hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest("sha256=" + mac.hexdigest(), header)


def test_flaky_endpoint_gets_the_packet_exactly_once_after_backoff(
    live_worker, receiver, push_authority, make_referral
):
    # Given a webhook that fails with 500, then hangs past the timeout, then accepts
    state, _ = receiver
    state.script[:] = [500, "hang"]

    # When a case is referred to that authority (the worker delivers on commit)
    referral = make_referral("US")
    wait_for(lambda: status_of(referral.pk) == ReferralStatus.DELIVERED, message="delivery")

    # Then the receiver stored the packet exactly once, though it was sent three times
    assert len(state.requests) == 3
    assert len(state.stored) == 1
    message = next(iter(state.stored.values()))
    assert message["type"] == "referral"
    assert message["sha256"] == referral.sha256
    assert message["packet"]["referral_id"] == referral.pk
    # and every attempt carried the same Idempotency-Key and a valid HMAC signature
    keys = {r["headers"]["Idempotency-Key"] for r in state.requests}
    assert len(keys) == 1
    for request in state.requests:
        headers = request["headers"]
        assert valid_push(
            headers["X-Touchstone-Timestamp"], request["body"], headers["X-Touchstone-Signature"]
        )
    # and the attempts were recorded: two transient failures, then success
    attempts = list(DeliveryAttempt.objects.filter(referral=referral).order_by("at", "id"))
    assert [a.outcome for a in attempts] == [
        AttemptOutcome.RETRY,
        AttemptOutcome.RETRY,
        AttemptOutcome.SUCCESS,
    ]
    assert [a.status_code for a in attempts] == [500, None, 200]
    assert "timed out" in attempts[1].error.lower() or "timeout" in attempts[1].error.lower()
    # and the backoff was respected and grew: BACKOFF, then timeout + 2 × BACKOFF
    arrivals = [r["at"] for r in state.requests]
    assert arrivals[1] - arrivals[0] >= BACKOFF
    # (the receiver notes an arrival once it has read the request, a moment after the client's
    # timeout clock started: here half the timeout is what the server side can vouch for; the
    # worker's own records below hold the whole of it)
    assert arrivals[2] - arrivals[1] >= TIMEOUT / 2 + 2 * BACKOFF
    recorded = [a.at for a in attempts]
    assert (recorded[1] - recorded[0]).total_seconds() >= BACKOFF + TIMEOUT
    assert (recorded[2] - recorded[1]).total_seconds() >= 2 * BACKOFF
    delivered = Referral.objects.get(pk=referral.pk)
    assert delivered.delivered_at is not None
    # and the outbox no longer owes the delivery
    wait_for(lambda: not delivery_owed(referral.pk), message="outbox message done")


def test_a_4xx_is_not_retried_and_parks_the_referral_as_failed(
    live_worker, receiver, push_authority, make_referral
):
    # Given a webhook that refuses with 400
    state, _ = receiver
    state.script[:] = [400]

    # When a referral is pushed to it
    referral = make_referral("US")
    wait_for(lambda: status_of(referral.pk) == ReferralStatus.FAILED, message="parked as failed")

    # Then there was exactly one request and one recorded attempt, marked failed
    assert len(state.requests) == 1
    assert not state.stored
    attempts = list(DeliveryAttempt.objects.filter(referral=referral))
    assert [(a.outcome, a.status_code) for a in attempts] == [(AttemptOutcome.FAILED, 400)]


def test_after_the_retry_cap_the_referral_is_failed_and_an_analyst_retry_delivers_it(
    live_worker, receiver, push_authority, make_referral, settings
):
    # Given a webhook that answers 503 more times than the cap allows
    settings.DELIVERY_MAX_RETRIES = 2
    state, _ = receiver
    state.script[:] = [503, 503, 503]

    # When a referral is pushed
    referral = make_referral("US")
    wait_for(lambda: status_of(referral.pk) == ReferralStatus.FAILED, message="parked as failed")

    # Then it was tried 1 + 2 times, every attempt recorded, and parked as failed
    assert len(state.requests) == 3
    assert DeliveryAttempt.objects.filter(referral=referral).count() == 3
    assert not state.stored
    # and the outbox does not keep republishing a delivery that was given up
    wait_for(lambda: not delivery_owed(referral.pk), message="outbox message done")

    # When an analyst retries it once the endpoint is fixed
    assert retry_failed_delivery(referral.pk) is True
    wait_for(lambda: status_of(referral.pk) == ReferralStatus.DELIVERED, message="redelivery")

    # Then it is delivered, once, and the new attempt is recorded
    assert len(state.stored) == 1
    assert list(
        DeliveryAttempt.objects.filter(referral=referral).values_list("outcome", flat=True)
    ) == [AttemptOutcome.RETRY] * 3 + [AttemptOutcome.SUCCESS]
    # and retrying a referral that has not failed does nothing
    assert retry_failed_delivery(referral.pk) is False


def test_retraction_is_pushed_to_the_webhook(live_worker, receiver, push_authority, make_referral):
    # Given a referral delivered to a webhook
    state, _ = receiver
    referral = make_referral("US")
    wait_for(lambda: status_of(referral.pk) == ReferralStatus.DELIVERED, message="delivery")

    # When the case is reinstated after referral
    from django.db import transaction

    with transaction.atomic():
        retract_referrals(referral.case, reason="appeal granted: genuine goods")

    # Then the webhook receives a signed retraction for that referral
    wait_for(
        lambda: Referral.objects.filter(
            pk=referral.pk, retraction_delivered_at__isnull=False
        ).exists(),
        message="retraction delivered",
    )
    retraction = next(m for m in state.stored.values() if m["type"] == "retraction")
    assert retraction["referral_id"] == referral.pk
    assert retraction["sha256"] == referral.sha256
    assert retraction["reason"] == "appeal granted: genuine goods"
    request = state.requests[-1]
    assert valid_push(
        request["headers"]["X-Touchstone-Timestamp"],
        request["body"],
        request["headers"]["X-Touchstone-Signature"],
    )
    assert DeliveryAttempt.objects.filter(
        referral=referral, kind=AttemptKind.RETRACTION, outcome=AttemptOutcome.SUCCESS
    ).exists()
    assert status_of(referral.pk) == ReferralStatus.RETRACTED


def test_pull_only_authority_gets_the_referral_made_available(live_worker, make_referral):
    # Given an authority without a webhook
    # When a case is referred to it
    referral = make_referral("DE")

    # Then the worker marks it delivered (available to pull) without any push attempt
    wait_for(lambda: status_of(referral.pk) == ReferralStatus.DELIVERED, message="available")
    assert not DeliveryAttempt.objects.filter(referral=referral).exists()


@pytest.fixture
def moved_endpoint() -> Iterator[tuple[list[str], str]]:
    """A webhook that moved: a POST gets ``302 Found`` to another path, which answers every
    request with 200 (as a login page or a load balancer's landing page does)."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            seen.append(f"{self.command} {self.path}")
            if self.path == "/touchstone":
                self.send_response(302)
                self.send_header("Location", "/elsewhere")
            else:
                self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _answer  # noqa: N815 - http.server's names

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    with serving(Handler) as url:
        yield seen, url


def test_a_redirect_is_not_taken_as_delivery(
    live_worker, moved_endpoint, push_authority, make_referral
):
    # Given a webhook whose POST is redirected to a page that answers 200 to anything
    seen, url = moved_endpoint
    push_authority.webhook_url = url
    push_authority.save(update_fields=["webhook_url"])

    # When a referral is pushed to it
    referral = make_referral("US")
    wait_for(lambda: not delivery_owed(referral.pk), message="the delivery task to finish")

    # Then the packet was not delivered: the redirect was not followed (urllib would turn the
    # POST into a GET without the packet), the attempt says so, and analysts see it failed
    assert seen == ["POST /touchstone"]
    attempts = list(DeliveryAttempt.objects.filter(referral=referral))
    assert [(a.outcome, a.status_code) for a in attempts] == [(AttemptOutcome.FAILED, 302)]
    assert status_of(referral.pk) == ReferralStatus.FAILED


def retraction_state(referral_id: int) -> tuple:
    return Referral.objects.values_list("retraction_failed_at", "retraction_delivered_at").get(
        pk=referral_id
    )


def test_a_retraction_given_up_is_parked_for_analysts_who_retry_it(
    live_worker, receiver, push_authority, make_referral, settings
):
    # Given a referral the authority received, then a webhook down longer than the retry cap
    settings.DELIVERY_MAX_RETRIES = 1
    state, _ = receiver
    referral = make_referral("US")
    wait_for(lambda: status_of(referral.pk) == ReferralStatus.DELIVERED, message="delivery")
    state.script[:] = [503, 503]

    # When the case is reinstated and the retraction cannot get through
    from django.db import transaction

    with transaction.atomic():
        retract_referrals(referral.case, reason="appeal granted")
    wait_for(lambda: retraction_state(referral.pk)[0] is not None, message="retraction parked")

    # Then it is parked where analysts look (not silently dropped), undelivered
    assert retraction_state(referral.pk)[1] is None
    assert not any(m["type"] == "retraction" for m in state.stored.values())

    # When an analyst retries it once the endpoint is back
    assert retry_failed_retraction(referral.pk) is True
    wait_for(lambda: retraction_state(referral.pk)[1] is not None, message="retraction delivered")

    # Then the authority has it, once, and it is no longer parked
    assert retraction_state(referral.pk)[0] is None
    assert [m["type"] for m in state.stored.values()].count("retraction") == 1
    # and a retraction that is not parked is not retried
    assert retry_failed_retraction(referral.pk) is False


def test_a_retraction_refused_with_a_4xx_is_parked_at_once(
    live_worker, receiver, push_authority, make_referral
):
    state, _ = receiver
    referral = make_referral("US")
    wait_for(lambda: status_of(referral.pk) == ReferralStatus.DELIVERED, message="delivery")
    state.script[:] = [410]

    from django.db import transaction

    with transaction.atomic():
        retract_referrals(referral.case, reason="appeal granted")

    wait_for(lambda: retraction_state(referral.pk)[0] is not None, message="retraction parked")
    assert retraction_state(referral.pk)[1] is None
