"""DSA Art. 23: a brand that keeps filing manifestly unfounded reports is warned, then its
intake is suspended for a set period with a notice saying why and until when; lifted after."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from counterfeits.choices import IntakeMeasureKind, ReportStatus
from counterfeits.intake import reject_report
from counterfeits.models import IntakeMeasure, Report
from tests.factories import ReportFactory
from tests.portal.support import send_owed_notices

pytestmark = pytest.mark.django_db


def _reject_unfounded(brand, analyst, n):
    for _ in range(n):
        report = ReportFactory(brand=brand)
        reject_report(
            report.pk,
            actor=analyst,
            reason="The listing sells a different brand's product.",
            manifestly_unfounded=True,
        )


def _form(brand, listing):
    return {
        "brand": brand.pk,
        "references": listing.external_id,
        "reason": "counterfeit",
        "explanation": "Fake again.",
        "evidence_kind": "photo",
        "notifier_name": "Ada Owner",
        "notifier_email": "ada@aurelia.example",
        "good_faith": "on",
    }


def test_unfounded_reports_earn_a_warning_then_a_suspension_then_intake_reopens(
    client, owner, brand, analyst, listing, settings, mailoutbox
):
    settings.UNFOUNDED_WARNING_AFTER = 3
    settings.UNFOUNDED_SUSPENSION_AFTER = 2
    settings.INTAKE_SUSPENSION_PERIOD = timedelta(days=30)
    client.force_login(owner)

    # Given three manifestly unfounded reports: a warning, and intake stays open.
    _reject_unfounded(brand, analyst, 3)
    send_owed_notices()
    warning = IntakeMeasure.objects.get()
    assert warning.kind == IntakeMeasureKind.WARNING
    warned = [m for m in mailoutbox if "warning" in m.subject.lower()]
    # The brand's members and the latest notifier, each once.
    assert owner.email in [m.to[0] for m in warned]
    assert len({m.to[0] for m in warned}) == len(warned)
    assert "3 of your reports" in warned[0].body
    assert client.post(reverse("portal:report_new"), _form(brand, listing)).status_code == 302

    # When two more are found manifestly unfounded: the intake is suspended for the period.
    _reject_unfounded(brand, analyst, 2)
    send_owed_notices()
    suspension = IntakeMeasure.objects.get(kind=IntakeMeasureKind.SUSPENSION)
    expected_end = timezone.now() + timedelta(days=30)
    assert abs(suspension.ends_at - expected_end) < timedelta(minutes=1)
    notice = next(m for m in mailoutbox if "suspended until" in m.subject and m.to == [owner.email])
    assert f"until {suspension.ends_at:%Y-%m-%d %H:%M} UTC" in notice.body
    assert "Why: 5 of your reports" in notice.body
    assert notice.alternatives[0][1] == "text/html"

    # Then filing is refused with a clear message, and nothing is filed.
    before = Report.objects.count()
    refused = client.post(reverse("portal:report_new"), _form(brand, listing))
    page = refused.content.decode()
    assert refused.status_code == 409
    assert f"Report intake for {brand.name} is suspended until" in page
    assert "manifestly unfounded" in page
    assert Report.objects.count() == before

    # And once the period has run out, intake is open again.
    IntakeMeasure.objects.filter(pk=suspension.pk).update(
        starts_at=timezone.now() - timedelta(days=31), ends_at=timezone.now() - timedelta(days=1)
    )
    reopened = client.post(reverse("portal:report_new"), _form(brand, listing))
    assert reopened.status_code == 302
    assert Report.objects.count() == before + 1


def test_a_report_rejected_in_good_faith_earns_no_measure(brand, analyst):
    for _ in range(5):
        report = ReportFactory(brand=brand)
        reject_report(report.pk, actor=analyst, reason="Not enough evidence to act on.")

    assert not IntakeMeasure.objects.exists()
    assert (
        Report.objects.filter(status=ReportStatus.REJECTED, decided_at__isnull=False).count() == 5
    )


def test_rejecting_a_report_already_in_a_case_is_refused_and_changes_nothing(
    brand, analyst, listing
):
    from counterfeits.intake import ReportRefused
    from counterfeits.services import open_case

    report = ReportFactory(brand=brand, seller=listing.seller, listings=[listing])
    open_case(report_ids=[report.pk], actor=analyst)

    with pytest.raises(ReportRefused):
        reject_report(report.pk, actor=analyst, reason="x", manifestly_unfounded=True)

    report.refresh_from_db()
    assert report.status == ReportStatus.CASE_OPENED
    assert not report.manifestly_unfounded
    assert not IntakeMeasure.objects.exists()


def test_rejected_report_shows_its_reason_to_the_brand_owner(client, owner, brand, analyst):
    report = ReportFactory(brand=brand, reporter=owner)
    reject_report(report.pk, actor=analyst, reason="The seller is an authorised reseller.")
    client.force_login(owner)

    page = client.get(reverse("portal:report_detail", args=[report.pk])).content.decode()

    # (not marked manifestly unfounded: the page does not call it unfounded)
    assert 'data-status="rejected">Rejected</span>' in page
    assert "unfounded" not in page.lower()
    assert "The seller is an authorised reseller." in page


def test_a_report_rejected_but_not_marked_unfounded_is_not_called_unfounded(brand, analyst):
    from counterfeits.choices import NoticeKind
    from counterfeits.models import Notice

    # Given a report rejected for a reason that is no finding of bad faith
    report = ReportFactory(brand=brand)
    reject_report(report.pk, actor=analyst, reason="The seller is an authorised reseller.")

    # Then the notifier's notice says it was rejected (not acted on), and nothing of unfounded
    notice = Notice.objects.get(
        report=report, kind=NoticeKind.REPORT_STATUS, dedupe_key__endswith=":rejected"
    )
    assert notice.subject == f"Report #{report.pk} ({brand.name}): rejected"
    for text in (notice.subject, notice.body, notice.html_body):
        assert "unfounded" not in text.lower()
    assert "We did not act on your notice." in notice.body


def test_a_report_rejected_as_manifestly_unfounded_says_so(brand, analyst):
    from counterfeits.choices import NoticeKind
    from counterfeits.models import Notice

    report = ReportFactory(brand=brand)
    reject_report(report.pk, actor=analyst, reason="Not your brand.", manifestly_unfounded=True)

    notice = Notice.objects.get(
        report=report, kind=NoticeKind.REPORT_STATUS, dedupe_key__endswith=":rejected"
    )
    assert notice.subject == f"Report #{report.pk} ({brand.name}): rejected as manifestly unfounded"
    assert "REJECTED AS MANIFESTLY UNFOUNDED" in notice.body
    assert "rejected as manifestly unfounded" in notice.html_body.lower()


def test_the_warning_and_suspension_notices_name_the_look_back_that_was_counted(
    brand, analyst, settings
):
    from counterfeits.models import Notice

    # Given a look-back of 90 days, not the default
    settings.NOTIFIER_LOOKBACK = timedelta(days=90)
    settings.UNFOUNDED_WARNING_AFTER = 2
    settings.UNFOUNDED_SUSPENSION_AFTER = 1

    # When unfounded reports earn a warning, then a suspension
    _reject_unfounded(brand, analyst, 2)
    _reject_unfounded(brand, analyst, 1)

    # Then both notices, text and HTML, say the period counted: 90 days, not six months
    notices = Notice.objects.filter(dedupe_key__startswith="measure:")
    assert {n.kind for n in notices} == {"intake_warning", "intake_suspension"}
    for notice in notices:
        for text in (notice.body, notice.html_body):
            assert "in the last 90 days" in text
            assert "six months" not in text


def test_the_portal_names_the_look_back_it_counts(client, owner, brand, analyst, settings):
    # the acceptance figures count NOTIFIER_LOOKBACK, so their headings say that period
    settings.NOTIFIER_LOOKBACK = timedelta(days=90)
    client.force_login(owner)
    for page in (reverse("portal:dashboard"), reverse("portal:brand_detail", args=[brand.pk])):
        text = client.get(page).content.decode()
        assert "last 90 days" in text, page
        assert "six months" not in text, page
        assert "6 months" not in text, page
    client.force_login(analyst)
    text = client.get(reverse("portal:analyst_brands")).content.decode()
    assert "last 90 days" in text
