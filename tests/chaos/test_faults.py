"""Faults injected into a running Touchstone; afterwards the books must balance.

Each test breaks one thing (a worker killed with SIGKILL mid-task, Redis stopped, PostgreSQL
restarted, fifty clients racing) while real work is in flight, repairs it the way an operator
would (start the process again), and then waits for ``books.settle``: every confirmed case
closed, every due case referred, every referral delivered and accepted once by the receiver.
"""

import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest
import requests
from celery import current_app
from django.utils import timezone

from counterfeits.choices import CaseState
from counterfeits.models import Case
from counterfeits.services import expire_appeal_window
from outbox.models import OutboxMessage
from referrals.models import Referral
from referrals.services import issue_token
from tests.chaos import books
from tests.factories import (
    BrandMembershipFactory,
    ListingFactory,
    SellerFactory,
    UserFactory,
)
from tests.helpers import wait_for

pytestmark = pytest.mark.chaos


def referred(case_ids: list[int]) -> int:
    return Case.objects.filter(pk__in=case_ids, state=CaseState.REFERRED).count()


def closed(case_ids: list[int]) -> int:
    return Case.objects.filter(pk__in=case_ids, state=CaseState.ACCOUNT_CLOSED).count()


def drained() -> bool:
    return not OutboxMessage.objects.filter(done_at__isnull=True).exists()


# --- kill -9 a worker mid-task ---------------------------------------------------------------


def test_worker_killed_mid_closure_loses_no_closure(chaos, procs):
    # Given 120 confirmed cases whose closures wait in the queue
    analyst = UserFactory(groups=["analyst"])
    case_ids = books.confirmable_cases(120)
    books.confirm_all(case_ids, analyst)

    # When a worker starts on them and is killed with SIGKILL part-way through the batch
    worker = procs.worker()
    wait_for(lambda: books.count(lambda: closed(case_ids)) >= 5, timeout=60)
    procs.kill9(worker)
    at_kill = closed(case_ids)

    # and a new worker and beat (the outbox relay) are started
    procs.worker()
    procs.beat()

    # Then the kill landed mid-batch, and every case is closed once with its notice sent
    assert 0 < at_kill < len(case_ids)
    books.settle(chaos.receiver, case_ids)
    assert closed(case_ids) == len(case_ids)
    chaos.tally["cases closed across a worker kill"] += len(case_ids)


def test_worker_killed_mid_sweep_loses_no_referral(chaos, procs):
    # Given 100 closed cases (US: pushed to the receiver; DE: pulled) and a worker
    analyst = UserFactory(groups=["analyst"])
    worker = procs.worker()
    case_ids = books.confirmable_cases(100, countries=("US", "DE"))
    books.confirm_all(case_ids, analyst)
    wait_for(lambda: closed(case_ids) == len(case_ids) and drained(), timeout=90)

    # When their appeal windows run out and the sweep is killed after its first batch
    Case.objects.filter(pk__in=case_ids).update(appeal_deadline=timezone.now())
    current_app.send_task("counterfeits.tasks.sweep_deadlines")
    wait_for(lambda: books.count(lambda: referred(case_ids)) >= 10, timeout=60)
    procs.kill9(worker)
    at_kill = referred(case_ids)

    # and a new worker and beat (sweep, relay) are started
    procs.worker()
    procs.beat()

    # Then the kill landed mid-sweep, and every case is referred and delivered exactly once
    assert 0 < at_kill < len(case_ids)
    books.settle(chaos.receiver, case_ids)
    assert referred(case_ids) == len(case_ids)
    us = Referral.objects.filter(case__in=case_ids, authority__code="US-IPRC")
    assert us.count() == len(case_ids) // 2
    assert all(books.idempotency_key(r) in chaos.receiver.accepted for r in us)
    chaos.tally["cases swept and referred across a worker kill"] += len(case_ids)


def test_worker_killed_mid_delivery_delivers_once(chaos, procs):
    # Given three US cases referred, their packets queued for a push authority that is slow
    analyst = UserFactory(groups=["analyst"])
    case_ids = books.confirmable_cases(3)
    books.closed_and_due(case_ids, analyst)
    for case_id in case_ids:
        expire_appeal_window(case_id)
    referrals = list(Referral.objects.filter(case__in=case_ids))
    keys = {books.idempotency_key(r) for r in referrals}
    chaos.receiver.delay = 5.0

    # When a worker is killed while it waits for the receiver's answer
    worker = procs.worker()
    wait_for(lambda: chaos.receiver.in_flight >= 1, timeout=60)
    procs.kill9(worker)
    with chaos.receiver.lock:
        interrupted = {k for k in keys if chaos.receiver.posts[k]}
    chaos.receiver.delay = 0.0

    # and a new worker and beat are started
    procs.worker()
    procs.beat()

    # Then every referral is delivered, each accepted exactly once by the receiver: the
    # interrupted one was posted again with the same Idempotency-Key and recognised as a replay
    books.settle(chaos.receiver, case_ids)
    assert interrupted
    with chaos.receiver.lock:
        assert set(chaos.receiver.accepted) >= keys
        assert all(chaos.receiver.posts[k] >= 2 for k in interrupted)
    chaos.tally["deliveries interrupted by a kill, replayed, accepted once"] += len(interrupted)


# --- clients of the real API ------------------------------------------------------------------


@dataclass
class Client:
    """A brand-protection vendor's or an analyst's script: retries what failed, same key."""

    api: str
    token: str
    statuses: Counter = field(default_factory=Counter)
    created: dict[str, int] = field(default_factory=dict)

    def post(self, path: str, body: dict, *, key: str | None = None, tries: int = 40) -> int:
        headers = {"Authorization": f"Bearer {self.token}"}
        if key:
            headers["Idempotency-Key"] = key
        for _ in range(tries):
            try:
                response = requests.post(
                    f"{self.api}{path}", json=body, headers=headers, timeout=30
                )
            except requests.RequestException:
                self.statuses["connection error"] += 1
                time.sleep(0.5)
                continue
            self.statuses[response.status_code] += 1
            if response.status_code in (502, 503, 504):
                time.sleep(0.5)
                continue
            if response.status_code == 201 and key:
                self.created[key] = response.json()["id"]
            return response.status_code
        return 0


def report_body(brand_id: int, listing_id: int) -> dict:
    return {
        "brand": brand_id,
        "listings": [listing_id],
        "reason": "counterfeit",
        "explanation": "Test buy: fake hologram and serial number.",
        "notifier_name": "Brand protection desk",
        "notifier_email": "protection@brand.example",
        "good_faith": True,
    }


@dataclass
class Load:
    """Reports filed and cases confirmed through gunicorn, from two client threads."""

    reporter: Client
    analyst: Client
    brand_id: int
    listing_ids: list[int]
    confirm_ids: list[int]
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        def file_reports() -> None:
            for listing_id in self.listing_ids:
                self.reporter.post(
                    "/reports/", report_body(self.brand_id, listing_id), key=str(uuid.uuid4())
                )
                time.sleep(0.05)

        def confirm_cases() -> None:
            for case_id in self.confirm_ids:
                self.analyst.post(
                    f"/cases/{case_id}/transitions/confirm/", {"reason": "fake confirmed"}
                )
                time.sleep(0.05)

        self.threads = [
            threading.Thread(target=file_reports),
            threading.Thread(target=confirm_cases),
        ]
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=240)


def make_load(base: str, n_reports: int, n_confirms: int) -> Load:
    membership = BrandMembershipFactory()
    seller = SellerFactory()
    listings = [
        ListingFactory(seller=seller, product__brand=membership.brand) for _ in range(n_reports)
    ]
    analyst = UserFactory(groups=["analyst"])
    return Load(
        reporter=Client(f"{base}/api/v1", issue_token(user=membership.user)[1]),
        analyst=Client(f"{base}/api/v1", issue_token(user=analyst)[1]),
        brand_id=membership.brand_id,
        listing_ids=[listing.pk for listing in listings],
        confirm_ids=books.confirmable_cases(n_confirms),
    )


def tally_load(chaos, load: Load) -> None:
    for client in (load.reporter, load.analyst):
        for status, n in client.statuses.items():
            chaos.tally[f"API answers under fault: {status}"] += n
    chaos.tally["reports filed under fault, each exactly once"] += len(load.reporter.created)
    chaos.tally["cases confirmed through the API under fault"] += len(load.confirm_ids)


def assert_every_request_answered(load: Load) -> None:
    """Every report filed exactly once per key, every confirmation taken, never a 500."""
    from counterfeits.models import Report

    for client in (load.reporter, load.analyst):
        assert 500 not in client.statuses, client.statuses
    assert len(load.reporter.created) == len(load.listing_ids), load.reporter.statuses
    reports = Report.objects.filter(brand_id=load.brand_id)
    assert reports.count() == len(load.listing_ids)
    assert set(reports.values_list("pk", flat=True)) == set(load.reporter.created.values())
    assert not Case.objects.filter(pk__in=load.confirm_ids, state=CaseState.OPEN).exists()


def test_redis_stopped_during_intake_and_sweep_loses_nothing(chaos, procs):
    # Given gunicorn, a worker and beat; reports and confirmations arriving; cases coming due
    analyst = UserFactory(groups=["analyst"])
    due_ids = books.confirmable_cases(40, countries=("US", "DE"))
    books.confirm_all(due_ids, analyst)
    base = procs.web()
    load = make_load(base, n_reports=40, n_confirms=30)
    procs.worker()
    procs.beat()
    wait_for(lambda: closed(due_ids) == len(due_ids), timeout=90)
    load.start()
    Case.objects.filter(pk__in=due_ids).update(appeal_deadline=timezone.now())
    wait_for(lambda: books.count(lambda: referred(due_ids)) >= 1, timeout=60)

    # When Redis is stopped for eight seconds in the middle of it (its queue is lost with it)
    chaos.redis.stop()
    chaos.tally["faults: Redis stopped (queue lost)"] += 1
    health = requests.get(f"{base}/healthz", timeout=30)
    time.sleep(8)  # the outage itself: how long the broker stays away
    chaos.redis.start()
    load.join()

    # Then /healthz said the broker was down, no request failed, and the books balance
    assert health.status_code == 503
    assert health.json()["broker"] != "ok"
    assert_every_request_answered(load)
    books.settle(chaos.receiver)
    chaos.tally["cases swept and referred across a Redis outage"] += len(due_ids)
    tally_load(chaos, load)


def test_postgres_restarted_under_load_loses_nothing(chaos, procs):
    # Given gunicorn, a worker and beat; reports and confirmations arriving
    base = procs.web()
    load = make_load(base, n_reports=40, n_confirms=30)
    procs.worker()
    procs.beat()
    load.start()
    wait_for(lambda: sum(load.reporter.statuses.values()) >= 10, timeout=60)

    # When PostgreSQL restarts (every connection cut, in-flight transactions rolled back)
    chaos.postgres.restart("fast")
    chaos.tally["faults: PostgreSQL restarted under load"] += 1
    load.join()

    # Then every client got its answer after retrying (503 while the database was away,
    # never a 500), each report exists once per Idempotency-Key, and the books balance
    books.settle(chaos.receiver)
    assert_every_request_answered(load)
    tally_load(chaos, load)


# --- fifty clients racing ---------------------------------------------------------------------


def test_fifty_clients_racing_conflicting_transitions_one_wins_each(chaos, procs):
    # Given eight open cases ready to confirm, and fifty analysts' clients
    case_ids = books.confirmable_cases(8)
    tokens = [issue_token(user=UserFactory(groups=["analyst"]))[1] for _ in range(5)]
    api = procs.web() + "/api/v1"
    procs.worker()
    procs.beat()
    results: dict[int, list[tuple[str, int]]] = defaultdict(list)
    lock = threading.Lock()
    barrier = threading.Barrier(50)

    def client(n: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {tokens[n % len(tokens)]}"
        order = case_ids[:]
        random.Random(n).shuffle(order)
        barrier.wait(timeout=60)
        for case_id in order:
            name = "confirm" if n % 2 else "dismiss"
            response = session.post(
                f"{api}/cases/{case_id}/transitions/{name}/",
                json={"reason": f"client {n} decides"},
                timeout=60,
            )
            with lock:
                results[case_id].append((name, response.status_code))

    # When all fifty fire confirm or dismiss at every case at once
    threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)

    # Then each case has exactly one winner and 49 refusals with 409, and its state is the winner's
    for case_id in case_ids:
        codes = Counter(code for _, code in results[case_id])
        assert codes == {200: 1, 409: 49}, (case_id, codes)
        winner = next(name for name, code in results[case_id] if code == 200)
        state = Case.objects.get(pk=case_id).state
        assert (state == CaseState.DISMISSED) == (winner == "dismiss"), (winner, state)
    # and every audit chain verifies, every confirmed case is closed
    books.settle(chaos.receiver, case_ids)
    chaos.tally["racing transition requests (50 clients)"] += sum(len(r) for r in results.values())
    chaos.tally["races: cases with exactly one winner"] += len(case_ids)
