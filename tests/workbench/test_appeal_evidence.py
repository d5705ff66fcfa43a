"""The seller's appeal files in the workbench: listed where the appeal is read, served to
analysts and reviewers only, through the same safe download as every other upload."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat
from django.urls import reverse

from appeals.models import Appeal, AppealEvidence
from appeals.services import file_appeal
from tests.factories import AppealEvidenceFactory
from tests.workbench.builders import appealed_case, closed_case

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def file_url(appeal: Appeal, item: AppealEvidence) -> str:
    return reverse("workbench:appeal-evidence-file", args=[appeal.pk, item.pk])


@pytest.fixture
def appeal(analyst) -> Appeal:
    return appealed_case(analyst=analyst)


@pytest.fixture
def invoice(appeal) -> AppealEvidence:
    return AppealEvidenceFactory(
        appeal=appeal, original_name="distributor-invoice.pdf", content=b"%PDF-1.7 invoice"
    )


# --- where the files are listed ----------------------------------------------------------------


def assert_lists(content: str, appeal: Appeal, item: AppealEvidence) -> None:
    assert item.original_name in content
    assert item.content_type in content
    assert str(filesizeformat(item.size)) in content
    assert item.sha256[:12] in content
    assert item.uploaded_at.strftime("%Y-%m-%d %H:%M") in content
    assert f'href="{file_url(appeal, item)}"' in content


def test_the_appeal_page_lists_the_sellers_files_with_a_download_link(
    reviewer_client, appeal, invoice
):
    photo = AppealEvidenceFactory(
        appeal=appeal, original_name="shop-photo.png", content_type="image/png", content=PNG
    )

    content = reviewer_client.get(reverse("workbench:appeal", args=[appeal.pk])).content.decode()

    assert_lists(content, appeal, invoice)
    assert_lists(content, appeal, photo)


def test_the_case_page_lists_the_appeal_files_in_its_appeal_panel(analyst_client, appeal, invoice):
    content = analyst_client.get(reverse("workbench:case", args=[appeal.case_id])).content.decode()

    assert_lists(content, appeal, invoice)


def test_an_appeal_without_files_says_so(reviewer_client, appeal):
    content = reviewer_client.get(reverse("workbench:appeal", args=[appeal.pk])).content.decode()

    assert 'id="appeal-evidence"' in content
    assert "The seller sent no files." in content


def test_the_appeals_list_shows_how_many_files_each_appeal_has(reviewer_client, appeal, invoice):
    AppealEvidenceFactory(appeal=appeal)

    response = reviewer_client.get(reverse("workbench:appeals"))

    assert [row.evidence_count for row in response.context["page"].rows] == [2]
    assert f'data-appeal-files="{appeal.pk}">2 files' in response.content.decode()


def test_a_filed_appeals_own_uploads_are_listed(reviewer_client, analyst):
    """Through the seller's own path (file_appeal): the names and digests it stored."""
    case = closed_case(analyst=analyst)
    filed = file_appeal(
        case.pk,
        statement="Invoice attached.",
        evidence=[SimpleUploadedFile("Rechnung März.pdf", b"%PDF-1.4 rechnung")],
    )
    item = AppealEvidence.objects.get(appeal=filed)

    content = reviewer_client.get(reverse("workbench:appeal", args=[filed.pk])).content.decode()

    assert_lists(content, filed, item)


# --- the download ------------------------------------------------------------------------------


def test_a_reviewer_downloads_an_appeal_file_as_an_attachment_with_its_type(
    reviewer_client, appeal, invoice
):
    response = reviewer_client.get(file_url(appeal, invoice))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    assert 'filename="distributor-invoice.pdf"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert b"".join(response.streaming_content) == b"%PDF-1.7 invoice"


def test_an_image_appeal_file_is_shown_inline_with_its_type(analyst_client, appeal):
    photo = AppealEvidenceFactory(appeal=appeal, content_type="image/png", content=PNG)

    response = analyst_client.get(file_url(appeal, photo))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "attachment" not in response.get("Content-Disposition", "")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_stored_type_we_do_not_serve_is_a_download_of_octet_stream(analyst_client, appeal):
    item = AppealEvidenceFactory(appeal=appeal, content_type="text/html", content=b"<html>")

    response = analyst_client.get(file_url(appeal, item))

    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")


def test_anonymous_visitors_go_to_the_login_page(client, appeal, invoice):
    response = client.get(file_url(appeal, invoice))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_a_brand_owner_gets_the_workbenchs_403_page(brand_client, appeal, invoice):
    response = brand_client.get(file_url(appeal, invoice))

    assert response.status_code == 403
    assert b"no analyst or reviewer role" in response.content
    assert b"%PDF" not in response.content


def test_a_file_of_another_appeal_is_404_under_this_appeals_url(
    analyst_client, analyst, appeal, invoice
):
    other = appealed_case(analyst=analyst)
    foreign = AppealEvidenceFactory(appeal=other)

    assert analyst_client.get(file_url(appeal, foreign)).status_code == 404
    assert analyst_client.get(file_url(other, invoice)).status_code == 404


def test_a_file_that_no_longer_exists_is_404(analyst_client, appeal, invoice):
    url = file_url(appeal, invoice)
    AppealEvidence.objects.filter(pk=invoice.pk).delete()

    assert analyst_client.get(url).status_code == 404


def test_a_file_missing_from_storage_is_404_not_500(analyst_client, appeal, invoice):
    invoice.file.storage.delete(invoice.file.name)

    assert analyst_client.get(file_url(appeal, invoice)).status_code == 404


def test_the_download_answers_get_only(analyst_client, appeal, invoice):
    assert analyst_client.post(file_url(appeal, invoice)).status_code == 405
