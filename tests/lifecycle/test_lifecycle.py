"""The whole case lifecycle through a real Celery worker on Redis and PostgreSQL."""

import base64
import hashlib
import json
from datetime import timedelta

import pytest
from celery.worker import state as worker_state
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core import mail
from django.utils import timezone

from appeals import services as appeal_services
from counterfeits import services
from counterfeits.audit import verify_case_chain
from counterfeits.choices import CaseState, NoticeKind
from counterfeits.models import Case, CaseEvent, Notice
from listings.choices import ListingStatus
from listings.models import Listing
from referrals.choices import ReferralStatus
from referrals.models import Referral, SigningKey
from sellers.choices import SellerStatus
from tests.factories import UserFactory
from tests.helpers import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]


def state_of(case_id: int) -> str:
    return Case.objects.values_list("state", flat=True).get(pk=case_id)


def verify_with_published_key(referral: Referral) -> bool:
    key = SigningKey.objects.get(key_id=referral.key_id)
    payload = referral.packet_json.encode("utf-8")
    digest = hashlib.sha256(payload).digest()
    assert digest.hex() == referral.sha256
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public_key))
    public.verify(base64.b64decode(referral.signature), digest)  # raises if it does not verify
    return True


def test_confirmed_case_is_closed_then_referred_when_the_window_expires(
    live_worker, settings, authorities, make_report
):
    settings.APPEAL_WINDOW = timedelta(seconds=1)
    analyst = UserFactory(username="jane.smith", groups=["analyst"])
    report = make_report(seller_country="CN", marketplaces=("us", "de"))
    case = services.open_case(report_ids=[report.pk], actor=analyst)

    # when the analyst confirms, the worker closes the account
    services.confirm_case(case.pk, actor=analyst, reason="test buy proved fake")
    wait_for(lambda: state_of(case.pk) == CaseState.ACCOUNT_CLOSED, message="closure")
    seller = case.seller
    seller.refresh_from_db()
    assert seller.status == SellerStatus.CLOSED
    assert not Listing.objects.filter(seller=seller, status=ListingStatus.ACTIVE).exists()
    to_seller = wait_for(
        lambda: [m for m in mail.outbox if m.to == [seller.email]], message="statement of reasons"
    )
    assert len(to_seller) == 1
    assert "STATEMENT OF REASONS" in to_seller[0].body

    # when the window runs out, the sweep refers the case to the US and EU authorities
    case = Case.objects.get(pk=case.pk)
    wait_for(case.window_expired, timeout=5, message="the window to expire")
    assert services.sweep_deadlines() == 1
    assert state_of(case.pk) == CaseState.REFERRED
    wait_for(
        lambda: Referral.objects.filter(case=case, status=ReferralStatus.DELIVERED).count() == 2,
        message="delivery",
    )
    referrals = {r.authority.code: r for r in Referral.objects.filter(case=case)}
    assert set(referrals) == {"US-IPRC", "EU-IPC3"}
    for code, referral in referrals.items():
        packet = json.loads(referral.packet_json)
        assert packet["schema"] == "touchstone.referral/1"
        assert packet["authority"]["code"] == code
        assert packet["seller"]["name"] == seller.name
        assert packet["seller"]["company_name"] == seller.company_name
        assert packet["seller"]["address"]["country"] == "CN"
        assert {p["brand"] for p in packet["products"]} == {case.brand.name}
        assert sum(p["units_sold"] for p in packet["products"]) == 4
        assert packet["evidence"][0]["sha256"]
        assert [e["event"] for e in packet["timeline"]] == [
            "open",
            "confirm",
            "close_account",
            "expire_appeal_window",
        ]
        assert all("actor" not in e for e in packet["timeline"])
        assert analyst.username not in referral.packet_json
        assert packet["appeal"] == {"filed": False, "outcome": None, "decided_at": None}
        assert verify_with_published_key(referral)
    assert verify_case_chain(case.pk) is None


def test_packet_is_frozen_when_the_seller_changes_later(
    live_worker, settings, authorities, make_report, analyst
):
    settings.APPEAL_WINDOW = timedelta(0)
    report = make_report()
    case = services.open_case(report_ids=[report.pk], actor=analyst)
    services.confirm_case(case.pk, actor=analyst, reason="fake")
    wait_for(lambda: state_of(case.pk) == CaseState.ACCOUNT_CLOSED)
    services.sweep_deadlines()
    referral = Referral.objects.get(case=case)
    before = referral.packet_json

    case.seller.name = "Someone Else"
    case.seller.save()

    referral.refresh_from_db()
    assert referral.packet_json == before
    assert verify_with_published_key(referral)


def test_granted_appeal_reinstates_the_seller_and_refers_nobody(
    live_worker, authorities, make_report, analyst, reviewer
):
    report = make_report()
    case = services.open_case(report_ids=[report.pk], actor=analyst)
    services.confirm_case(case.pk, actor=analyst, reason="fake")
    wait_for(lambda: state_of(case.pk) == CaseState.ACCOUNT_CLOSED)
    appeal = appeal_services.file_appeal(case.pk, statement="Invoices from the distributor.")
    assert state_of(case.pk) == CaseState.APPEAL_REVIEW

    appeal_services.decide_appeal(
        appeal.pk, outcome="granted", actor=reviewer, reason="invoices genuine"
    )

    assert state_of(case.pk) == CaseState.REINSTATED
    case.seller.refresh_from_db()
    assert case.seller.status == SellerStatus.REINSTATED
    assert not Listing.objects.filter(seller=case.seller, status=ListingStatus.DELISTED).exists()
    assert services.sweep_deadlines() == 0
    assert not Referral.objects.filter(case=case).exists()
    wait_for(lambda: Notice.objects.filter(case=case, sent_at__isnull=False).count() == 2)
    assert verify_case_chain(case.pk) is None


def test_denied_appeal_sends_the_case_to_referral(
    live_worker, authorities, make_report, analyst, reviewer
):
    report = make_report()
    case = services.open_case(report_ids=[report.pk], actor=analyst)
    services.confirm_case(case.pk, actor=analyst, reason="fake")
    wait_for(lambda: state_of(case.pk) == CaseState.ACCOUNT_CLOSED)
    appeal = appeal_services.file_appeal(case.pk, statement="It is genuine.")

    appeal_services.decide_appeal(appeal.pk, outcome="denied", actor=reviewer, reason="no proof")

    wait_for(lambda: state_of(case.pk) == CaseState.REFERRED, message="referral")
    referral = wait_for(
        lambda: Referral.objects.filter(case=case, status=ReferralStatus.DELIVERED).first()
    )
    packet = json.loads(referral.packet_json)
    assert packet["appeal"]["filed"] is True
    assert packet["appeal"]["outcome"] == "denied"
    assert verify_case_chain(case.pk) is None


def test_late_complaint_granted_after_referral_reinstates_and_retracts(
    live_worker, settings, authorities, make_report, analyst, reviewer
):
    settings.APPEAL_WINDOW = timedelta(0)
    report = make_report()
    case = services.open_case(report_ids=[report.pk], actor=analyst)
    services.confirm_case(case.pk, actor=analyst, reason="fake")
    wait_for(lambda: state_of(case.pk) == CaseState.ACCOUNT_CLOSED)
    services.sweep_deadlines()
    assert state_of(case.pk) == CaseState.REFERRED

    appeal = appeal_services.file_appeal(case.pk, statement="Late, but here are invoices.")
    assert appeal.late
    appeal_services.decide_appeal(appeal.pk, outcome="granted", actor=reviewer, reason="genuine")

    assert state_of(case.pk) == CaseState.REINSTATED
    referral = Referral.objects.get(case=case)
    assert referral.status == ReferralStatus.RETRACTED
    wait_for(lambda: Referral.objects.filter(pk=referral.pk, retraction_delivered_at__isnull=False))
    assert CaseEvent.objects.filter(case=case, transition="reinstate_after_referral").count() == 1


def test_safety_risk_case_is_referred_as_soon_as_the_account_closes(
    live_worker, authorities, make_report, analyst
):
    report = make_report(safety_risk=True)
    case = services.open_case(report_ids=[report.pk], actor=analyst)
    assert case.safety_risk

    services.confirm_case(case.pk, actor=analyst, reason="fake chargers catch fire")

    wait_for(lambda: state_of(case.pk) == CaseState.REFERRED, message="prompt referral")
    case = Case.objects.get(pk=case.pk)
    assert case.appeal_deadline > timezone.now()  # the seller can still appeal
    assert Referral.objects.filter(case=case).count() == 1


def test_redelivered_tasks_do_no_harm(live_worker, authorities, make_report, analyst):
    from counterfeits.tasks import close_account_task, refer_case_task, send_notice_task

    report = make_report(seller_country="DE", marketplaces=("us",))
    case = services.open_case(report_ids=[report.pk], actor=analyst)
    services.confirm_case(case.pk, actor=analyst, reason="fake")
    wait_for(lambda: state_of(case.pk) == CaseState.ACCOUNT_CLOSED)
    notice = wait_for(lambda: Notice.objects.filter(case=case, sent_at__isnull=False).first())

    # when the broker delivers the same messages again
    processed = worker_state.total_count.copy()
    close_account_task.delay(case.pk)
    send_notice_task.delay(notice.pk)
    Case.objects.filter(pk=case.pk).update(appeal_deadline=timezone.now())
    # the redelivered closure may hold the case's lock for a moment: the sweep skips a locked
    # case and takes it on its next run
    wait_for(lambda: services.sweep_deadlines() or Referral.objects.filter(case=case).exists())
    refer_case_task.delay(case.pk)
    refer_case_task.delay(case.pk)

    def ran(name: str) -> int:
        return worker_state.total_count[name] - processed[name]

    wait_for(
        lambda: (
            ran("counterfeits.tasks.close_account_task") == 1
            and ran("counterfeits.tasks.send_notice_task") == 1
            and ran("counterfeits.tasks.refer_case_task") == 2
        ),
        message="the redelivered tasks to run",
    )

    # then one closure, one notice, one referral per authority
    assert CaseEvent.objects.filter(case=case, transition="close_account").count() == 1
    assert CaseEvent.objects.filter(case=case, transition="refer").count() == 1
    assert Notice.objects.filter(case=case, kind=NoticeKind.STATEMENT_OF_REASONS).count() == 1
    assert len([m for m in mail.outbox if m.to == [case.seller.email]]) == 1
    assert sorted(Referral.objects.filter(case=case).values_list("authority__code", flat=True)) == [
        "EU-IPC3",
        "US-IPRC",
    ]


def test_confirming_analyst_cannot_decide_the_appeal(
    live_worker, authorities, make_report, analyst
):
    from counterfeits.exceptions import PermissionRefused

    report = make_report()
    case = services.open_case(report_ids=[report.pk], actor=analyst)
    services.confirm_case(case.pk, actor=analyst, reason="fake")
    wait_for(lambda: state_of(case.pk) == CaseState.ACCOUNT_CLOSED)
    appeal = appeal_services.file_appeal(case.pk, statement="genuine")
    events = CaseEvent.objects.filter(case=case).count()

    with pytest.raises(PermissionRefused):
        appeal_services.decide_appeal(appeal.pk, outcome="granted", actor=analyst, reason="ok")

    appeal.refresh_from_db()
    assert appeal.outcome == "pending"
    assert state_of(case.pk) == CaseState.APPEAL_REVIEW
    assert CaseEvent.objects.filter(case=case).count() == events
