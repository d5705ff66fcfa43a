"""The seller admin: identifiers are derived on save, so the admin shows them and never edits."""

import pytest
from django.urls import reverse

from sellers.identity import refresh_identifiers
from sellers.models import SellerIdentifier
from tests.factories import SellerFactory
from tests.ops.test_admin import change_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller():
    seller = SellerFactory(email="Li.Na+shop@example.com", phone="+49 151 2345 6789", country="DE")
    refresh_identifiers([seller.pk], alert=False)
    return seller


def seller_form(client, url: str, seller) -> dict:
    """The change form as the page would post it back, with the seller's own fields."""
    form = change_form_data(client, url)
    initial = client.get(url).context["adminform"].form.initial
    editable = [
        "external_id", "name", "company_name", "company_registration", "tax_id", "email",
        "phone", "address_line1", "address_line2", "city", "region", "postal_code", "country",
    ]  # fmt: skip
    return {**form, **{name: initial.get(name) or "" for name in editable}}


def test_the_identifiers_inline_is_read_only(admin_client, seller):
    url = reverse("admin:sellers_seller_change", args=[seller.pk])

    page = admin_client.get(url)

    inline = next(
        i for i in page.context["inline_admin_formsets"] if i.formset.model is SellerIdentifier
    )
    assert not inline.has_add_permission
    assert not inline.has_change_permission
    assert not inline.has_delete_permission
    html = page.content.decode()
    assert "+4915123456789" in html  # shown
    assert 'name="identifiers-0-value"' not in html


def test_a_forged_identifier_edit_is_ignored_and_identifiers_follow_the_fields(
    admin_client, seller
):
    url = reverse("admin:sellers_seller_change", args=[seller.pk])
    data = seller_form(admin_client, url, seller)
    data["email"] = "new.owner@example.org"
    forged = SellerIdentifier.objects.get(seller=seller, kind="phone")
    data.update({"identifiers-0-id": forged.pk, "identifiers-0-value": "+10000000000"})

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    values = dict(SellerIdentifier.objects.filter(seller=seller).values_list("kind", "value"))
    assert values["email"] == "new.owner@example.org"
    assert values["phone"] == "+4915123456789"


def test_identifiers_cannot_be_added_changed_or_deleted_on_their_own(admin_client, seller):
    identifier = SellerIdentifier.objects.filter(seller=seller).first()
    change = reverse("admin:sellers_selleridentifier_change", args=[identifier.pk])

    assert admin_client.get(reverse("admin:sellers_selleridentifier_add")).status_code == 403
    assert admin_client.post(change, {"kind": "email", "value": "x@y.z"}).status_code == 403
    delete = reverse("admin:sellers_selleridentifier_delete", args=[identifier.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert SellerIdentifier.objects.filter(pk=identifier.pk, value=identifier.value).exists()
