"""The portal's report pages: filing with evidence, upload checks, who sees what, query counts."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from counterfeits.choices import ReportStatus
from counterfeits.models import Evidence, Notice, Report
from counterfeits.uploads import sanitise_name, sniff_content_type
from tests.factories import PASSWORD, ReportFactory, UserFactory
from tests.portal.support import PNG_BYTES, send_owed_notices

pytestmark = pytest.mark.django_db


def _form(brand, listing, **extra):
    data = {
        "brand": brand.pk,
        "references": listing.url,
        "reason": "counterfeit",
        "explanation": "Test buy: the serial number is not one of ours; the dial misprints.",
        "evidence_kind": "photo",
        "evidence_description": "The fake next to the genuine",
        "notifier_name": "Ada Owner",
        "notifier_email": "ada@aurelia.example",
        "good_faith": "on",
    }
    data.update(extra)
    return data


def _file_report(client, brand, listing, files=None, **extra):
    data = _form(brand, listing, **extra)
    if files is not None:
        data["evidence"] = files
    return client.post(reverse("portal:report_new"), data)


def test_brand_owner_files_a_report_with_a_photo_by_pasting_the_listing_url(
    client, owner, brand, listing, mailoutbox
):
    client.force_login(owner)
    photo = SimpleUploadedFile("fake-vs-genuine.png", PNG_BYTES, content_type="image/png")

    response = _file_report(client, brand, listing, files=[photo])
    send_owed_notices()

    report = Report.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:report_detail", args=[report.pk])
    assert report.status == ReportStatus.RECEIVED
    assert list(report.listings.all()) == [listing]
    assert report.seller_id == listing.seller_id
    evidence = Evidence.objects.get(report=report)
    assert evidence.content_type == "image/png"
    assert evidence.file.name == f"evidence/{evidence.sha256[:2]}/{evidence.sha256}"
    assert evidence.original_name == "fake-vs-genuine.png"
    [mail] = mailoutbox
    assert mail.to == ["ada@aurelia.example"]
    assert "RECEIVED" in mail.body
    assert mail.alternatives[0][1] == "text/html"


def test_listing_picked_from_the_search_is_reported(client, owner, brand, listing):
    client.force_login(owner)
    page = client.get(reverse("portal:report_new"), {"q": "chronograph"})
    assert listing.title in page.content.decode()

    response = _file_report(client, brand, listing, references="", listings=[listing.pk])

    assert response.status_code == 302
    assert list(Report.objects.get().listings.all()) == [listing]


@pytest.mark.parametrize("picked", ["²", "9" * 19, "9" * 30])
def test_a_picked_listing_that_is_no_id_is_refused_and_nothing_is_filed(
    client, owner, brand, listing, picked
):
    client.force_login(owner)

    response = _file_report(client, brand, listing, references="", listings=[picked])

    assert response.status_code == 400
    assert "listings" in response.context["form"].errors
    assert not Report.objects.exists()


def test_unknown_listing_url_is_refused_and_nothing_is_filed(client, owner, brand, listing):
    client.force_login(owner)

    response = _file_report(client, brand, listing, references="https://shop.example/nope")

    assert response.status_code == 400
    assert "No listing is known at: https://shop.example/nope" in response.content.decode()
    assert not Report.objects.exists()


def test_oversized_upload_is_refused_and_nothing_is_filed(client, owner, brand, listing, settings):
    settings.MAX_UPLOAD_BYTES = 1024
    client.force_login(owner)
    big = SimpleUploadedFile("receipt.png", PNG_BYTES + b"\0" * 2048, content_type="image/png")

    response = _file_report(client, brand, listing, files=[big])

    assert response.status_code == 400
    assert "larger than the limit" in response.content.decode()
    assert not Report.objects.exists()
    assert not Evidence.objects.exists()


def test_more_than_twenty_files_are_refused_as_in_the_api_and_nothing_is_filed(
    client, owner, brand, listing
):
    client.force_login(owner)
    photos = [SimpleUploadedFile(f"photo-{n}.png", PNG_BYTES, "image/png") for n in range(21)]

    response = _file_report(client, brand, listing, files=photos)

    assert response.status_code == 400
    assert "at most 20 files" in response.content.decode()
    assert not Report.objects.exists()
    assert not Evidence.objects.exists()


def test_html_file_named_jpg_is_refused(client, owner, brand, listing):
    client.force_login(owner)
    html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
    disguised = SimpleUploadedFile("photo.jpg", html, content_type="image/jpeg")

    response = _file_report(client, brand, listing, files=[disguised])

    assert response.status_code == 400
    assert "this kind of file is not accepted" in response.content.decode()
    assert not Report.objects.exists()


def test_path_traversal_file_name_never_reaches_the_filesystem(
    client, owner, brand, listing, settings
):
    client.force_login(owner)
    evil = SimpleUploadedFile("../../../etc/passwd.txt", b"lab result: fake", "text/plain")

    response = _file_report(client, brand, listing, files=[evil])

    assert response.status_code == 302
    evidence = Evidence.objects.get()
    assert evidence.original_name == "passwd.txt"
    assert ".." not in evidence.file.name
    assert "passwd" not in evidence.file.name
    stored = (settings.MEDIA_ROOT / evidence.file.name).resolve()
    assert stored.is_relative_to(settings.MEDIA_ROOT.resolve())
    assert evidence.content_type == "text/plain"


def test_sniffing_decides_by_content_and_names_are_sanitised():
    assert sniff_content_type(PNG_BYTES) == "image/png"
    assert sniff_content_type(b"\xff\xd8\xff\xe0\x00\x10JFIF") == "image/jpeg"
    assert sniff_content_type(b"GIF89a\x01\x00") == "image/gif"
    assert sniff_content_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_content_type(b"%PDF-1.7\n") == "application/pdf"
    assert sniff_content_type(b"Invoice 42: 10 units\n") == "text/plain"
    assert sniff_content_type(b"<svg onload=alert(1)>") is None
    assert sniff_content_type(b"  <html><body>hi") is None
    assert sniff_content_type(b"MZ\x90\x00\x03\x00\x00\x00") is None
    assert sanitise_name("..\\..\\win.ini") == "win.ini"
    assert sanitise_name("/etc/passwd") == "passwd"
    assert sanitise_name("a\x00b<script>.png") == "ab_script_.png"
    assert sanitise_name("..") == "file"


def test_evidence_is_served_as_attachment_with_nosniff_unless_an_image(
    client, owner, brand, listing
):
    client.force_login(owner)
    pdf = SimpleUploadedFile("lab.pdf", b"%PDF-1.4\n%fake lab report\n", "application/pdf")
    png = SimpleUploadedFile("photo.png", PNG_BYTES, "image/png")
    _file_report(client, brand, listing, files=[pdf, png])
    pdf_ev, png_ev = Evidence.objects.order_by("id")

    pdf_response = client.get(reverse("portal:evidence", args=[pdf_ev.pk]))
    png_response = client.get(reverse("portal:evidence", args=[png_ev.pk]))

    assert pdf_response["Content-Type"] == "application/pdf"
    assert pdf_response["Content-Disposition"].startswith("attachment")
    assert pdf_response["X-Content-Type-Options"] == "nosniff"
    assert png_response["Content-Type"] == "image/png"
    assert not png_response["Content-Disposition"].startswith("attachment")
    assert png_response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in png_response["Content-Security-Policy"]


def test_brand_owner_cannot_see_another_brands_report_by_id_or_in_the_list(
    client, owner, other_owner
):
    theirs = ReportFactory(brand=other_owner.brands.get(), reporter=other_owner)
    mine = ReportFactory(brand=owner.brands.get(), reporter=owner)
    client.force_login(owner)

    listed = client.get(reverse("portal:report_list"))
    detail = client.get(reverse("portal:report_detail", args=[theirs.pk]))
    own = client.get(reverse("portal:report_detail", args=[mine.pk]))

    assert f'data-report="{mine.pk}"' in listed.content.decode()
    assert f'data-report="{theirs.pk}"' not in listed.content.decode()
    assert detail.status_code == 404
    assert own.status_code == 200


def test_brand_owner_cannot_download_another_brands_evidence(
    client, owner, other_owner, brand, listing
):
    client.force_login(owner)
    _file_report(client, brand, listing, files=[SimpleUploadedFile("a.png", PNG_BYTES)])
    evidence = Evidence.objects.get()
    client.force_login(other_owner)

    response = client.get(reverse("portal:evidence", args=[evidence.pk]))

    assert response.status_code == 404


def test_report_list_runs_the_same_queries_for_one_and_many_reports(client, owner, brand):
    client.force_login(owner)
    ReportFactory(brand=brand, reporter=owner)
    client.get(reverse("portal:report_list"))  # warm the session and the group cache
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("portal:report_list")).status_code == 200
    for _ in range(30):
        ReportFactory(brand=brand, reporter=owner)
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("portal:report_list"))

    assert response.content.decode().count("data-report=") == 31
    assert len(many) == len(one)


def test_only_brand_owners_can_sign_in_to_the_portal(client, owner, analyst):
    refused = client.post(
        reverse("portal:login"), {"username": analyst.username, "password": PASSWORD}
    )
    accepted = client.post(
        reverse("portal:login"), {"username": owner.username, "password": PASSWORD}
    )

    assert refused.status_code == 200
    assert "This sign-in is for brand owners" in refused.content.decode()
    assert accepted.status_code == 302
    assert accepted["Location"] == reverse("portal:dashboard")


def test_portal_refuses_users_without_the_brand_owner_role(client):
    client.force_login(UserFactory(username="nobody"))

    response = client.get(reverse("portal:report_list"))

    assert response.status_code == 403


def test_report_status_changes_email_the_notifier_once_each(owner, brand, analyst, mailoutbox):
    from counterfeits.intake import report_status_changed, start_review
    from counterfeits.services import open_case

    report = ReportFactory(brand=brand, reporter=owner)
    start_review(report.pk, actor=analyst)
    send_owed_notices()
    open_case(report_ids=[report.pk], actor=analyst)
    report_status_changed([report.pk])  # a repeated call owes nothing new
    send_owed_notices()

    subjects = [m.subject for m in mailoutbox]
    assert subjects == [
        f"Report #{report.pk} (Aurelia Watches): in review",
        f"Report #{report.pk} (Aurelia Watches): case opened",
    ]
    assert Notice.objects.filter(report=report).count() == 2
    assert all(m.alternatives and m.alternatives[0][1] == "text/html" for m in mailoutbox)


def test_notice_links_are_absolute_and_single_slashed_when_site_url_ends_in_a_slash(
    owner, brand, analyst, mailoutbox, settings
):
    # Given a deployment whose SITE_URL is written with a trailing slash
    from counterfeits.intake import start_review

    settings.SITE_URL = "https://ts.example.com/"
    report = ReportFactory(brand=brand, reporter=owner)

    # When the notifier is e-mailed about the report
    start_review(report.pk, actor=analyst)
    send_owed_notices()

    # Then both parts link to the report's page, as the appeal link already does
    [mail] = mailoutbox
    link = f"https://ts.example.com/portal/reports/{report.pk}/"
    assert link in mail.body
    assert f'href="{link}"' in mail.alternatives[0][0]
    assert "//portal" not in mail.body + mail.alternatives[0][0]
