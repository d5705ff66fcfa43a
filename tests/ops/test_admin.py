"""The admin of sellers, listings, counterfeits and appeals: every changelist and change page
opens for a superuser, the case state cannot be edited, the timeline cannot be touched."""

import hashlib

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appeals.models import Appeal, AppealEvidence
from counterfeits.choices import CaseState, IntakeMeasureKind
from counterfeits.models import (
    BrandMembership,
    Case,
    CaseEvent,
    IdempotencyRecord,
    IntakeMeasure,
    Report,
    Trademark,
)
from sellers.models import SellerIdentifier
from tests.factories import (
    BrandFactory,
    ListingFactory,
    ReportFactory,
    SellerFactory,
    UserFactory,
)
from tests.ops.conftest import case_through_services

User = get_user_model()
OPERATOR_APPS = {"sellers", "listings", "counterfeits", "appeals"}
REGISTERED = sorted(
    (model for model in admin.site._registry if model._meta.app_label in OPERATOR_APPS),
    key=lambda model: model._meta.label,
)


@pytest.fixture
def one_of_each(db):
    """At least one row of every model these admins show, most of them made by the services."""
    analyst = UserFactory(username="analyst-admin-test", groups=["analyst"])
    case = case_through_services(analyst=analyst, appeal=True)
    seller = case.seller
    SellerIdentifier.objects.create(seller=seller, kind="email", value=seller.email.lower())
    Trademark.objects.create(brand=case.brand, office="EUIPO", number="018000001")
    BrandMembership.objects.create(brand=case.brand, user=UserFactory(groups=["brand_owner"]))
    IntakeMeasure.objects.create(
        brand=case.brand,
        kind=IntakeMeasureKind.WARNING,
        reason="Three manifestly unfounded reports in 30 days.",
        unfounded_count=3,
    )
    IdempotencyRecord.objects.create(user=analyst, key="k-1", request_hash="0" * 64)
    data = b"invoice from an authorised distributor"
    evidence = AppealEvidence(
        appeal=Appeal.objects.get(case=case),
        original_name="invoice.txt",
        content_type="text/plain",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_at=timezone.now(),
    )
    evidence.file.save("invoice.txt", ContentFile(data), save=True)
    return case


def change_form_data(client, url: str) -> dict:
    """What the change page would post back unchanged: its inline formsets' management data and
    row ids (the read-only timeline inline included)."""
    page = client.get(url)
    data = {}
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management.initial.get(name, 0)
        for form in formset.initial_forms:
            pk_name = formset.model._meta.pk.name
            data[form.add_prefix(pk_name)] = form.instance.pk
            fk = getattr(formset, "fk", None)
            if fk is not None:
                data[form.add_prefix(fk.name)] = formset.instance.pk
    return data


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_changelist_and_change_page_open(admin_client, one_of_each, model):
    opts = model._meta
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, f"no {opts.label} row to show"

    changelist = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    change = admin_client.get(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    )

    assert changelist.status_code == 200
    assert change.status_code == 200


def test_search_and_filters_work_on_the_case_changelist(admin_client, one_of_each):
    url = reverse("admin:counterfeits_case_changelist")

    by_seller = admin_client.get(url, {"q": one_of_each.seller.external_id})
    by_state = admin_client.get(url, {"state__exact": CaseState.APPEAL_REVIEW})

    assert by_seller.status_code == 200
    assert by_seller.context["cl"].result_count == 1
    assert by_state.context["cl"].result_count == 1


def test_case_state_cannot_be_changed_in_the_admin(admin_client, one_of_each):
    # given a case under appeal review and an operator posting another state with its assignee
    case = one_of_each
    url = reverse("admin:counterfeits_case_change", args=[case.pk])
    events_before = CaseEvent.objects.filter(case=case).count()

    form = change_form_data(admin_client, url)
    response = admin_client.post(
        url, {**form, "state": CaseState.REINSTATED, "priority": "3", "assignee": ""}
    )

    # then the editable fields are saved, the state and the timeline are untouched
    assert response.status_code == 302
    case = Case.objects.get(pk=case.pk)
    assert case.state == CaseState.APPEAL_REVIEW
    assert case.priority == 3
    assert CaseEvent.objects.filter(case=case).count() == events_before


def test_the_timeline_cannot_be_added_to_changed_or_deleted(admin_client, one_of_each):
    event = CaseEvent.objects.filter(case=one_of_each).first()
    opts = CaseEvent._meta
    change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[event.pk])
    original = CaseEvent.objects.values().get(pk=event.pk)

    add = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    change = admin_client.post(change_url, {"reason": "rewritten"})
    delete = admin_client.post(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[event.pk]),
        {"post": "yes"},
    )

    assert add.status_code == 403
    assert change.status_code == 403
    assert delete.status_code == 403
    assert CaseEvent.objects.values().get(pk=event.pk) == original


def test_cases_cannot_be_added_or_deleted_in_the_admin(admin_client, one_of_each):
    add = admin_client.get(reverse("admin:counterfeits_case_add"))
    delete = admin_client.post(
        reverse("admin:counterfeits_case_delete", args=[one_of_each.pk]), {"post": "yes"}
    )

    assert add.status_code == 403
    assert delete.status_code == 403
    assert Case.objects.filter(pk=one_of_each.pk).exists()


def test_verify_chain_action_reports_intact_and_broken_chains(admin_client, one_of_each):
    url = reverse("admin:counterfeits_case_changelist")
    action = {"action": "verify_chain", "_selected_action": [one_of_each.pk]}

    intact = admin_client.post(url, action, follow=True)
    CaseEvent.objects.filter(case=one_of_each, seq=2).update(reason="rewritten")
    broken = admin_client.post(url, action, follow=True)

    assert "1 case chain(s) intact." in intact.content.decode()
    assert f"Broken chain: case {one_of_each.pk}, seq 2" in broken.content.decode()


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_changelist_queries_do_not_grow_with_rows(admin_client, one_of_each, model):
    # given the changelist with the rows of one case, then with those of three
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    admin_client.get(url)  # warm the session and content-type caches
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200
    analyst = User.objects.get(username="analyst-admin-test")
    case_through_services(analyst=analyst, appeal=True)
    case_through_services(analyst=analyst)

    with CaptureQueriesContext(connection) as many:
        assert admin_client.get(url).status_code == 200

    assert len(many) == len(few)


def test_a_filed_report_cannot_be_rewritten_in_the_admin(admin_client, one_of_each):
    # given a brand owner's notice that a case was opened on
    report = Report.objects.get(case=one_of_each)
    before = Report.objects.values().get(pk=report.pk)
    listings_before = set(report.listings.values_list("pk", flat=True))
    other_seller, other_brand, other_listing = SellerFactory(), BrandFactory(), ListingFactory()
    url = reverse("admin:counterfeits_report_change", args=[report.pk])

    # when an operator posts the notice back with another seller, brand, listing and wording
    response = admin_client.post(
        url,
        {
            **change_form_data(admin_client, url),
            "brand": other_brand.pk,
            "reporter": "",
            "seller": other_seller.pk,
            "listings": [other_listing.pk],
            "reason": report.reason,
            "explanation": "Rewritten after filing.",
            "notifier_name": "Someone else",
            "notifier_email": "someone@else.example",
            "good_faith": "on",
        },
    )

    # then the notice is as it was filed
    assert response.status_code in (302, 403)
    assert Report.objects.values().get(pk=report.pk) == before
    assert set(report.listings.values_list("pk", flat=True)) == listings_before


def test_a_filed_report_cannot_be_deleted_in_the_admin(admin_client):
    # given a notice with nothing attached (no evidence, no case), naming a listing
    report = ReportFactory()
    listing = ListingFactory(seller=report.seller)
    report.listings.add(listing)

    # when an operator deletes it, one by one or in bulk
    single = admin_client.post(
        reverse("admin:counterfeits_report_delete", args=[report.pk]), {"post": "yes"}
    )
    bulk = admin_client.post(
        reverse("admin:counterfeits_report_changelist"),
        {"action": "delete_selected", "_selected_action": [report.pk], "post": "yes"},
    )

    # then the notice (a DSA Art. 16 record) and its link to the listing stay
    assert single.status_code == 403
    assert bulk.status_code in (200, 302, 403)
    assert Report.objects.filter(pk=report.pk).exists()
    assert report.listings.filter(pk=listing.pk).exists()
