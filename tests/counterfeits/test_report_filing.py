"""What filing a report writes: the same rows by both paths, all or none, published on commit.

``save_received_report`` writes a report, its listings, the notifier's "received" notice and the
outbox message that sends it: in one statement on PostgreSQL, by the ORM elsewhere. The
intake's hot path reads the brand (with its Art. 23 state) and the seller in one statement too
(``intake_brand_and_seller``), as the serializer's two fields would.
"""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from counterfeits import intake
from counterfeits.choices import IntakeMeasureKind, ReportReason, ReportStatus
from counterfeits.filtersets import brands_for
from counterfeits.intake import intake_brand_and_seller, with_intake_state
from counterfeits.models import IntakeMeasure, Notice, Report
from counterfeits.services import file_report
from outbox.models import OutboxMessage
from sellers.models import Seller
from tests.factories import BrandFactory, BrandMembershipFactory, ListingFactory, SellerFactory
from tests.helpers import wait_for

VARYING = {"id", "report", "created_at", "updated_at", "available_at"}


def unsaved_report(brand, seller, reporter) -> Report:
    return Report(
        brand=brand,
        seller=seller,
        reporter=reporter,
        reason=ReportReason.COUNTERFEIT,
        explanation="Test buy: wrong serial number.",
        notifier_name="Dana Brandt",
        notifier_email="dana@brand.example",
        good_faith=True,
    )


def written(notice: Notice) -> dict:
    """The rows behind a received notice, read back, without ids and times of their own."""
    notice = Notice.objects.get(pk=notice.pk)
    report = Report.objects.get(pk=notice.report_id)
    [message] = OutboxMessage.objects.filter(args=[notice.pk])
    return {
        "report": {k: v for k, v in model_to_dict(report).items() if k not in VARYING},
        "listings": sorted(report.listings.values_list("pk", flat=True)),
        "notice": {
            k: v
            for k, v in model_to_dict(notice).items()
            if k not in VARYING | {"dedupe_key", "subject"}  # they name the report: below
        },
        "message": {k: v for k, v in model_to_dict(message).items() if k not in VARYING | {"args"}},
        "ids in texts": (notice.dedupe_key, notice.subject, message.args)
        == (
            f"report:{report.pk}:received",
            f"Report #{report.pk} ({report.brand.name}): received",
            [notice.pk],
        ),
    }


@pytest.mark.django_db
def test_the_one_statement_and_the_orm_write_the_same_rows(brand_owner_user):
    # Given two listings of a seller of a brand whose name could be mistaken for SQL
    brand = BrandFactory(name="O'Brien || #1 (test)")
    seller = SellerFactory()
    listings = [ListingFactory(seller=seller, product__brand=brand) for _ in range(2)]

    # When the same report is saved by each path
    one = unsaved_report(brand, seller, brand_owner_user)
    by_statement = intake._save_received_report_in_one_statement(one, listings)
    other = unsaved_report(brand, seller, brand_owner_user)
    by_orm = intake._save_received_report_by_orm(other, listings)

    # Then the rows are the same but for their ids and times, and each names its own ids
    assert written(by_statement) == written(by_orm)
    assert written(by_statement)["ids in texts"] is True
    assert written(by_statement)["listings"] == sorted(x.pk for x in listings)
    # and the instances handed back are the rows as stored
    assert one.pk
    assert not one._state.adding
    stored = Report.objects.get(pk=one.pk)
    assert (stored.created_at, stored.updated_at) == (one.created_at, one.updated_at)
    assert by_statement.dedupe_key == Notice.objects.get(pk=by_statement.pk).dedupe_key


@pytest.mark.django_db
def test_a_report_without_listings_writes_none(brand_owner_user):
    brand, seller = BrandFactory(), SellerFactory()

    notice = intake.save_received_report(unsaved_report(brand, seller, brand_owner_user))

    assert written(notice)["listings"] == []
    assert written(notice)["ids in texts"] is True


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_filed_outside_a_transaction_it_commits_in_one_statement_and_the_notice_goes_out(
    brand_owner_user, live_worker
):
    # Given a brand owner's brand and a seller, read as the API reads them, and a worker
    brand, seller = intake_brand_and_seller(
        brand_owner_user, BrandMembershipFactory(user=brand_owner_user).brand.pk, SellerFactory().pk
    )

    # When a report is filed with no transaction around it
    with CaptureQueriesContext(connection) as queries:
        report = file_report(
            brand=brand,
            reporter=brand_owner_user,
            seller=seller,
            reason=ReportReason.COUNTERFEIT,
            explanation="Fake.",
            notifier_name="Dana",
            notifier_email="dana@brand.example",
            good_faith=True,
            membership_checked=True,
        )

    # Then its rows were written by one statement, and the notice's message was claimed once
    # that had committed (the second statement) and published
    sent = [q["sql"] for q in queries if not q["sql"].startswith("PREPARE ")]  # once a connection
    assert len(sent) == 2, [sql[:80] for sql in sent]
    assert sent[1].lstrip().upper().startswith(("SET LOCAL", "UPDATE", "EXECUTE")), sent[1][:80]
    notice = Notice.objects.get(report=report)
    message = OutboxMessage.objects.get(args=[notice.pk])
    # and the worker sent the notifier's "received" e-mail and marked the message done
    wait_for(lambda: Notice.objects.filter(pk=notice.pk, sent_at__isnull=False).exists())
    wait_for(lambda: OutboxMessage.objects.filter(pk=message.pk, done_at__isnull=False).exists())
    message.refresh_from_db()
    assert message.attempts == 1
    assert message.task == intake.NOTICE_TASK


@pytest.mark.django_db(transaction=True)
def test_a_statement_that_fails_leaves_no_row(brand_owner_user):
    # Given a report whose seller is gone by the time it is written
    brand, seller = BrandFactory(), SellerFactory()
    report = unsaved_report(brand, seller, brand_owner_user)
    seller.delete()
    listings = [ListingFactory(product__brand=brand)]

    # When it is saved outside any transaction
    with pytest.raises(IntegrityError):
        intake.save_received_report(report, listings)

    # Then nothing of it was written: no report, link, notice or message
    assert not Report.objects.exists()
    assert not Report.listings.through.objects.exists()
    assert not Notice.objects.exists()
    assert not OutboxMessage.objects.exists()


def drf_request(user) -> Request:
    request = Request(APIRequestFactory().post("/api/v1/reports/"))
    request.user = user
    return request


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["member", "analyst", "other brand owner"])
@pytest.mark.parametrize("suspended", [False, True])
@pytest.mark.parametrize("named", ["seller", "no seller", "gone seller"])
def test_the_one_statement_lookup_finds_what_the_serializer_fields_find(
    brand_owner_user, analyst, who, suspended, named
):
    # Given a brand, maybe suspended (besides a lapsed suspension and a warning), and a seller
    brand = BrandMembershipFactory(user=brand_owner_user).brand
    now = timezone.now()
    measures = [(IntakeMeasureKind.SUSPENSION, -30, -1), (IntakeMeasureKind.WARNING, -1, 29)]
    if suspended:
        measures.append((IntakeMeasureKind.SUSPENSION, -1, 29))
    for kind, start, end in measures:
        IntakeMeasure.objects.create(
            brand=brand,
            kind=kind,
            reason="Unfounded reports.",
            unfounded_count=3,
            starts_at=now + timedelta(days=start),
            ends_at=now + timedelta(days=end),
        )
    seller, gone = SellerFactory(), SellerFactory()
    gone.delete()
    seller_id = {"seller": seller.pk, "no seller": None, "gone seller": gone.pk}[named]
    user = {
        "member": brand_owner_user,
        "analyst": analyst,
        "other brand owner": BrandMembershipFactory().user,  # of another brand
    }[who]

    # When the hot path and the serializer's querysets look them up
    found = intake_brand_and_seller(user, brand.pk, seller_id)
    brands = with_intake_state(brands_for(drf_request(user)))
    expected_brand = brands.filter(pk=brand.pk).first()
    expected_seller = Seller.objects.filter(pk=seller_id).first()

    # Then they agree: not found when either is not, else the same rows and Art. 23 state
    if expected_brand is None or (seller_id is not None and expected_seller is None):
        assert found is None
        return
    got_brand, got_seller = found
    assert model_to_dict(got_brand) == model_to_dict(expected_brand)
    assert got_brand.intake_suspended is expected_brand.intake_suspended is suspended
    assert got_seller == expected_seller
    if got_seller is not None:
        assert model_to_dict(got_seller) == model_to_dict(expected_seller)
        assert got_seller.created_at == expected_seller.created_at


@pytest.mark.django_db
def test_a_status_other_than_received_is_refused(brand_owner_user):
    report = unsaved_report(BrandFactory(), SellerFactory(), brand_owner_user)
    report.status = ReportStatus.IN_REVIEW

    with pytest.raises(ValueError, match="not received"):
        intake.save_received_report(report)
    assert not Report.objects.exists()
