"""The seller's statement of reasons and appeal, behind a signed, expiring link."""

from datetime import timedelta

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from appeals.choices import AppealOutcome
from appeals.links import make_token, read_token
from appeals.models import Appeal, AppealEvidence
from appeals.services import decide_appeal, file_appeal
from counterfeits.choices import CaseState, NoticeKind
from counterfeits.models import Case, CaseEvent, Notice
from counterfeits.services import close_account
from tests.appeals.conftest import token_made_at
from tests.factories import CaseFactory, force_state
from tests.portal.support import send_owed_notices

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n% invoice from the authorised distributor\n"


def test_the_link_shows_the_statement_of_reasons(client, closed_case, seller_link):
    response = client.get(seller_link)
    page = response.content.decode()

    assert response.status_code == 200
    assert f"Statement of reasons — case #{closed_case.pk}" in page
    assert "No automated decision-making was used" in page
    assert "Aurelia Chronograph (replica)" in page
    assert f"{closed_case.appeal_deadline:%Y-%m-%d %H:%M} UTC" in page
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]


def test_an_altered_link_is_refused_and_shows_nothing_of_the_case(client, closed_case):
    token = make_token(closed_case)
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")

    response = client.get(f"/appeal/{altered}/")

    assert response.status_code == 404
    assert "This link is not valid" in response.content.decode()
    assert closed_case.seller.name not in response.content.decode()


def test_a_link_signed_for_another_purpose_is_refused(client, closed_case):
    other = signing.TimestampSigner().sign_object({"c": closed_case.pk, "s": closed_case.seller_id})

    assert client.get(f"/appeal/{other}/").status_code == 404


def test_an_expired_link_is_refused(client, closed_case, settings):
    token = token_made_at(closed_case, timezone.now() - settings.COMPLAINT_WINDOW - timedelta(1))

    response = client.get(f"/appeal/{token}/")
    posted = client.post(f"/appeal/{token}/", {"statement": "Please reconsider."})

    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    assert posted.status_code == 410
    assert not Appeal.objects.exists()


def test_seller_files_one_appeal_with_evidence_and_a_second_is_refused(
    client, closed_case, seller_link
):
    invoice = SimpleUploadedFile("../../invoice 2024.pdf", PDF, content_type="application/pdf")

    filed = client.post(
        seller_link, {"statement": "Bought from the authorised distributor.", "evidence": invoice}
    )

    appeal = Appeal.objects.get(case=closed_case)
    assert filed.status_code == 302
    assert Case.objects.get(pk=closed_case.pk).state == CaseState.APPEAL_REVIEW
    assert not appeal.late
    item = AppealEvidence.objects.get(appeal=appeal)
    assert item.original_name == "invoice 2024.pdf"
    assert item.file.name == f"appeal-evidence/{item.sha256[:2]}/{item.sha256}"
    events = CaseEvent.objects.filter(case=closed_case).count()

    again = client.post(seller_link, {"statement": "A second try."})

    assert again.status_code == 409
    assert "An appeal was already filed for this case." in again.content.decode()
    assert Appeal.objects.filter(case=closed_case).count() == 1
    assert Appeal.objects.get(case=closed_case).statement == appeal.statement
    assert CaseEvent.objects.filter(case=closed_case).count() == events
    page = client.get(seller_link).content.decode()
    assert 'data-testid="appeal-form"' not in page
    assert "Bought from the authorised distributor." in page


def test_seller_downloads_own_evidence_as_an_attachment(client, closed_case, seller_link):
    client.post(
        seller_link,
        {"statement": "Invoice attached.", "evidence": SimpleUploadedFile("inv.pdf", PDF)},
    )
    item = AppealEvidence.objects.get()

    response = client.get(f"{seller_link}evidence/{item.pk}/")

    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PDF


def test_html_named_jpg_is_refused_on_the_appeal_and_nothing_changes(
    client, closed_case, seller_link
):
    html = SimpleUploadedFile("receipt.jpg", b"<html><script>x()</script></html>", "image/jpeg")

    response = client.post(seller_link, {"statement": "See receipt.", "evidence": html})

    assert response.status_code == 400
    assert "this kind of file is not accepted" in response.content.decode()
    assert not Appeal.objects.exists()
    assert Case.objects.get(pk=closed_case.pk).state == CaseState.ACCOUNT_CLOSED


def test_more_than_twenty_files_are_refused_on_the_appeal_and_nothing_changes(
    client, closed_case, seller_link
):
    files = [SimpleUploadedFile(f"invoice-{n}.pdf", PDF) for n in range(21)]

    response = client.post(seller_link, {"statement": "Invoices attached.", "evidence": files})

    assert response.status_code == 400
    assert "at most 20 files" in response.content.decode()
    assert not Appeal.objects.exists()
    assert not AppealEvidence.objects.exists()
    assert Case.objects.get(pk=closed_case.pk).state == CaseState.ACCOUNT_CLOSED


def test_an_evidence_file_missing_from_storage_is_a_404_not_a_500(client, closed_case, seller_link):
    client.post(
        seller_link,
        {"statement": "Invoice attached.", "evidence": SimpleUploadedFile("inv.pdf", PDF)},
    )
    item = AppealEvidence.objects.get()
    item.file.storage.delete(item.file.name)

    response = client.get(f"{seller_link}evidence/{item.pk}/")

    assert response.status_code == 404


def test_a_late_complaint_within_six_months_is_accepted(client, analyst):
    now = timezone.now()
    case = force_state(
        CaseFactory(),
        CaseState.REFERRED,
        confirmed_by=analyst,
        account_closed_at=now - timedelta(days=60),
        appeal_deadline=now - timedelta(days=30),
        referred_at=now - timedelta(days=30),
    )
    link = f"/appeal/{make_token(case)}/"
    assert "File a complaint" in client.get(link).content.decode()

    response = client.post(link, {"statement": "I only now saw the notice."}, follow=True)

    assert response.redirect_chain[0][1] == 302
    assert Appeal.objects.get(case=case).late
    # and the seller is told it was filed as what it is
    assert "Your complaint was filed" in response.content.decode()
    assert "Your appeal was filed" not in response.content.decode()


def test_after_six_months_no_complaint_is_possible(client, analyst, settings):
    now = timezone.now()
    case = force_state(
        CaseFactory(),
        CaseState.REFERRED,
        confirmed_by=analyst,
        account_closed_at=now - settings.COMPLAINT_WINDOW - timedelta(days=1),
        appeal_deadline=now - timedelta(days=150),
    )
    link = f"/appeal/{make_token(case)}/"

    response = client.post(link, {"statement": "Too late?"})

    assert response.status_code == 409
    assert "six months" in response.content.decode()
    assert not Appeal.objects.exists()


def test_statement_of_reasons_email_has_text_and_html_with_the_signed_link(
    closed_case, mailoutbox, analyst
):
    case = force_state(
        closed_case, CaseState.CONFIRMED, account_closed_at=None, appeal_deadline=None
    )

    close_account(case.pk)
    send_owed_notices()

    [mail] = [m for m in mailoutbox if "account was closed" in m.subject]
    html, mimetype = mail.alternatives[0]
    assert mimetype == "text/html"
    token = mail.body.split("/appeal/")[1].split("/")[0]
    assert read_token(token).case_id == case.pk
    assert f"/appeal/{token}/" in html
    assert "Art. 17" in mail.body
    assert Notice.objects.get(case=case, kind=NoticeKind.STATEMENT_OF_REASONS).html_body


def test_a_safety_risk_closure_tells_the_seller_the_case_is_referred_now_not_after_the_window(
    client, closed_case, mailoutbox
):
    # Given a confirmed case whose goods threaten the life or safety of persons
    Case.objects.filter(pk=closed_case.pk).update(safety_risk=True)
    case = force_state(
        closed_case, CaseState.CONFIRMED, account_closed_at=None, appeal_deadline=None
    )

    # When the account is closed (the case is referred at once, EU DSA Art. 18)
    close_account(case.pk)
    send_owed_notices()
    case.refresh_from_db()
    assert case.state == CaseState.REFERRED

    # Then the statement of reasons, in text and HTML, and the seller's page say so, and none
    # of them promises a referral only if no appeal comes by the deadline
    [mail] = [m for m in mailoutbox if "account was closed" in m.subject]
    html, _ = mail.alternatives[0]
    page = client.get(f"/appeal/{make_token(case)}/").content.decode()
    for text in (mail.body, html, page):
        flat = " ".join(text.split())
        assert "already been referred to the competent law-enforcement authorities" in flat
        assert "If no appeal is filed by then" not in flat
        assert "After that the case is referred" not in flat
    # and the seller can still appeal, and learns that a granted appeal withdraws the referral
    assert "withdrawn" in " ".join(mail.body.split())
    assert "You may file <strong>one</strong> appeal" in page


def test_the_outcome_notice_gives_reasons_in_text_and_html(closed_case, reviewer, mailoutbox):
    appeal = file_appeal(closed_case.pk, statement="Genuine stock, invoices attached.")

    decide_appeal(
        appeal.pk,
        outcome=AppealOutcome.GRANTED,
        actor=reviewer,
        reason="The invoices show the goods came from the authorised distributor.",
    )
    send_owed_notices()

    [mail] = [m for m in mailoutbox if "Decision on your appeal" in m.subject]
    assert "Your appeal was granted" in mail.body
    assert "The invoices show the goods came from the authorised distributor." in mail.body
    assert "/appeal/" in mail.body
    html, _ = mail.alternatives[0]
    assert "The invoices show the goods came from the authorised distributor." in html
