"""Linked-seller groups, repeat-offender alerts, ring review on confirmation, the packet."""

import json

from django.utils import timezone

from counterfeits.choices import CaseState, ReportReason, ReportStatus
from counterfeits.models import Case, Report
from counterfeits.services import confirm_case
from listings.importer import import_catalog
from referrals.packets import build_packet
from sellers.choices import IdentifierKind, SellerStatus
from sellers.identity import refresh_identifiers, save_seller, set_payment_account
from sellers.models import RingAlert, Seller, SellerIdentifier
from sellers.rings import (
    PRIORITY_RING_WITH_CLOSED_SELLER,
    RING_NOTIFIER,
    linked_sellers_for_packet,
    regroup_all,
    ring_review,
)
from tests.factories import (
    AuthorityFactory,
    CaseFactory,
    SellerFactory,
    confirmable_case,
    force_state,
)
from tests.helpers import run_outbox


def seller(**fields) -> Seller:
    """A seller sharing nothing with anyone unless the test says so."""
    n = Seller.objects.count() + 1
    defaults = {
        "email": f"own{n}@example.com",
        "phone": "",
        "address_line1": "",
        "tax_id": "",
        "company_registration": "",
        "country": "DE",
    }
    made = SellerFactory(**{**defaults, **fields})
    refresh_identifiers([made.pk])
    made.refresh_from_db()
    return made


def groups(*sellers: Seller) -> list[int | None]:
    found = dict(
        Seller.objects.filter(pk__in=[s.pk for s in sellers]).values_list("pk", "link_group")
    )
    return [found[s.pk] for s in sellers]


def closed_counterfeiter(**fields) -> tuple[Seller, Case]:
    closed = seller(status=SellerStatus.CLOSED, closed_at=timezone.now(), **fields)
    case = force_state(CaseFactory(seller=closed), CaseState.ACCOUNT_CLOSED)
    return closed, case


def test_sellers_sharing_a_normalised_identifier_are_one_group(db):
    a = seller(email="Jane.Doe+shop@GoogleMail.com")
    b = seller(email="janedoe@gmail.com")
    loner = seller()

    assert groups(a, b, loner) == [a.pk, a.pk, None]


def test_groups_are_transitive_across_identifier_kinds(db):
    # given A shares a phone with B, and B a bank account with C
    a = seller(phone="0151 2345 6789")
    b = seller(phone="+49 151 23456789")
    c = seller()
    set_payment_account(b, "DE89 3704 0044 0532 0130 00")
    set_payment_account(c, "de89370400440532013000")

    # then A, B and C are one group, named by the smallest id
    assert groups(a, b, c) == [a.pk, a.pk, a.pk]


def test_correcting_an_identifier_splits_the_group(db):
    # given A - phone - B - bank account - C, one group
    a = seller(phone="0151 2345 6789")
    b = seller(phone="0151 2345 6789")
    c = seller()
    set_payment_account(b, "DE89370400440532013000")
    set_payment_account(c, "DE89370400440532013000")
    assert groups(a, b, c) == [a.pk, a.pk, a.pk]

    # when B's phone is corrected (the shared one was a typo)
    b.phone = "030 1234567"
    save_seller(b)

    # then A stands alone and B, C form their own group
    assert groups(a, b, c) == [None, b.pk, b.pk]


def test_removing_a_payment_account_splits_off_the_seller(db):
    a = seller()
    b = seller()
    set_payment_account(a, "GB29NWBK60161331926819")
    set_payment_account(b, "GB29 NWBK 6016 1331 9268 19")
    assert groups(a, b) == [a.pk, a.pk]

    set_payment_account(b, "")

    assert groups(a, b) == [None, None]
    assert not SellerIdentifier.objects.filter(seller=b, kind=IdentifierKind.PAYMENT).exists()


def test_payment_account_is_never_stored_in_clear(db):
    a = seller()
    set_payment_account(a, "DE89 3704 0044 0532 0130 00")

    values = list(SellerIdentifier.objects.filter(seller=a).values_list("value", flat=True))
    assert values
    assert not any("3704" in value or "DE89" in value for value in values)


def test_refreshing_twice_changes_nothing(db):
    a = seller(phone="0151 2345 6789")
    b = seller(phone="0151 2345 6789")
    before = list(
        SellerIdentifier.objects.order_by("pk").values_list("pk", "seller", "kind", "value")
    )

    refresh_identifiers([a.pk, b.pk])

    after = list(
        SellerIdentifier.objects.order_by("pk").values_list("pk", "seller", "kind", "value")
    )
    assert after == before
    assert groups(a, b) == [a.pk, a.pk]


def test_full_pass_agrees_with_incremental_grouping(db):
    a = seller(phone="0151 2345 6789")
    b = seller(phone="0151 2345 6789", tax_id="DE123456789")
    c = seller(tax_id="de 123 456 789")
    d = seller()
    Seller.objects.update(link_group=None)

    regroup_all()

    assert groups(a, b, c, d) == [a.pk, a.pk, a.pk, None]


def test_catalog_import_row_sharing_a_phone_with_a_closed_counterfeiter_raises_one_alert(
    db, tmp_path
):
    # given a seller closed for counterfeits
    closed, closed_case = closed_counterfeiter(phone="+49 151 23456789", email="old@shop.example")
    rows = [
        {
            "type": "seller",
            "external_id": "NEW-1",
            "name": "New Name",
            "email": "fresh@other.example",
            "country": "DE",
            "phone": "0151 2345 6789",
        }
    ]
    path = tmp_path / "catalog.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")

    # when the catalog import brings a new account with the same phone (twice)
    import_catalog(path, restart=True)
    import_catalog(path, restart=True)
    run_outbox()  # the ring refresh the imports owe, as the worker runs it

    # then one alert report enters the queue, for the closed seller's brand, explained and masked
    newcomer = Seller.objects.get(external_id="NEW-1")
    alerts = list(Report.objects.filter(reason=ReportReason.LINKED_TO_CLOSED_SELLER))
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.seller == newcomer
    assert alert.brand_id == closed_case.brand_id
    assert alert.reporter is None
    assert alert.notifier_name == RING_NOTIFIER
    assert alert.status == ReportStatus.RECEIVED
    assert alert.case is None
    assert "Phone +49********789" in alert.explanation
    assert "23456" not in alert.explanation
    assert RingAlert.objects.get(seller=newcomer).closed_seller == closed
    assert groups(closed, newcomer) == [closed.pk, closed.pk]


def test_a_seller_saved_with_a_closed_counterfeiters_address_is_flagged(db):
    closed, _ = closed_counterfeiter(
        address_line1="Hauptstr. 5", postal_code="10115", city="Berlin"
    )
    newcomer = seller()

    newcomer.address_line1 = "Hauptstraße 5"
    newcomer.postal_code = "10115"
    newcomer.city = "BERLIN"
    save_seller(newcomer)

    alert = Report.objects.get(reason=ReportReason.LINKED_TO_CLOSED_SELLER)
    assert alert.seller == newcomer
    assert "Postal address #" in alert.explanation


def test_sharing_with_a_seller_closed_without_a_counterfeit_case_raises_no_alert(db):
    # closed, but its only case was dismissed: not a counterfeiter
    closed = seller(status=SellerStatus.CLOSED, phone="0151 2345 6789")
    force_state(CaseFactory(seller=closed), CaseState.DISMISSED)
    reinstated, _ = closed_counterfeiter(phone="030 1234567")
    Seller.objects.filter(pk=reinstated.pk).update(status=SellerStatus.REINSTATED)

    seller(phone="+49 151 23456789")
    seller(phone="+49 30 1234567")

    assert not Report.objects.filter(reason=ReportReason.LINKED_TO_CLOSED_SELLER).exists()
    assert not RingAlert.objects.exists()


def test_confirming_a_case_in_a_ring_with_a_closed_counterfeiter_raises_its_priority(db, analyst):
    closed, _ = closed_counterfeiter(phone="0151 2345 6789")
    suspect = seller(phone="0151 2345 6789")
    case = confirmable_case(seller=suspect)
    assert case.priority < PRIORITY_RING_WITH_CLOSED_SELLER

    confirm_case(case.pk, actor=analyst, reason="test buy was fake")

    case.refresh_from_db()
    assert case.state == CaseState.CONFIRMED
    assert case.priority == PRIORITY_RING_WITH_CLOSED_SELLER


def test_confirming_a_case_outside_any_ring_keeps_its_priority(db, analyst):
    case = confirmable_case(seller=seller())

    confirm_case(case.pk, actor=analyst, reason="test buy was fake")

    case.refresh_from_db()
    assert case.priority == 0


def test_ring_review_lists_linked_sellers_with_cases_closed_counterfeiters_first(db):
    suspect = seller(phone="0151 2345 6789", tax_id="DE111111111")
    with_open_case = seller(tax_id="DE111111111")
    CaseFactory(seller=with_open_case)
    closed, closed_case = closed_counterfeiter(phone="0151 2345 6789")
    seller(phone="0151 2345 6789")  # linked, but no case: nothing to review
    case = CaseFactory(seller=suspect)
    case.seller.refresh_from_db()

    review = ring_review(case)

    assert [m.seller.pk for m in review] == [closed.pk, with_open_case.pk]
    assert review[0].closed_for_counterfeits
    assert review[0].cases == [closed_case]
    assert [item.kind for item in review[0].shared] == [IdentifierKind.PHONE]
    assert not review[1].closed_for_counterfeits


def test_packet_lists_confirmed_linked_sellers_and_leaves_out_unconfirmed_ones(db):
    # given a ring: the case's seller, a referred counterfeiter, a confirmed one, and innocents
    suspect = seller(phone="0151 2345 6789")
    referred, _ = closed_counterfeiter(phone="0151 2345 6789", company_name="Referred GmbH")
    force_state(referred.cases.get(), CaseState.REFERRED)
    confirmed = seller(phone="0151 2345 6789", company_name="Confirmed UG")
    force_state(CaseFactory(seller=confirmed), CaseState.CONFIRMED)
    dismissed = seller(phone="0151 2345 6789", company_name="Dismissed AG")
    force_state(CaseFactory(seller=dismissed), CaseState.DISMISSED)
    open_only = seller(phone="0151 2345 6789", company_name="Open KG")
    CaseFactory(seller=open_only)
    reinstated = seller(phone="0151 2345 6789", company_name="Reinstated OHG")
    force_state(CaseFactory(seller=reinstated), CaseState.REINSTATED)
    seller(phone="0151 2345 6789", company_name="No Case Ltd")
    case = force_state(CaseFactory(seller=suspect), CaseState.REFERRAL_PENDING)

    # when the packet is built
    packet = build_packet(
        referral_id=1, case=case, authority=AuthorityFactory(), created_at=timezone.now()
    )

    # then only the sellers with confirmed cases are named, with what links them
    assert packet["linked_sellers"] == [
        {
            "name": referred.name,
            "company_name": "Referred GmbH",
            "country": "DE",
            "shared": ["phone"],
            "account_status": "closed",
            "referred": True,
        },
        {
            "name": confirmed.name,
            "company_name": "Confirmed UG",
            "country": "DE",
            "shared": ["phone"],
            "account_status": "active",
            "referred": False,
        },
    ]


def test_packet_names_a_confirmed_seller_linked_only_through_an_innocent_one(db):
    suspect = seller(phone="0151 2345 6789")
    seller(phone="0151 2345 6789", tax_id="DE999999999")  # innocent middle account
    far = seller(tax_id="DE 999 999 999")
    force_state(CaseFactory(seller=far), CaseState.ACCOUNT_CLOSED)
    case = CaseFactory(seller=suspect)
    case.seller.refresh_from_db()

    linked = linked_sellers_for_packet(case)

    assert [(entry["name"], entry["shared"]) for entry in linked] == [(far.name, ["tax_id"])]


def test_packet_of_a_seller_in_no_group_has_no_linked_sellers(db):
    case = CaseFactory(seller=seller())

    assert linked_sellers_for_packet(case) == []


def test_an_identifier_that_becomes_a_placeholder_stops_linking_its_holders(db, monkeypatch):
    # given three sellers sharing a phone, with a placeholder limit of three holders
    monkeypatch.setattr("sellers.rings.HUB_LIMIT", 3)
    a, b, c = (seller(phone="0800 123 4567") for _ in range(3))
    assert groups(a, b, c) == [a.pk, a.pk, a.pk]

    # when a fourth account gives the same number (a call centre, not one operator)
    d = seller(phone="0800 123 4567")

    # then the number links nobody, as a full regrouping says too
    assert groups(a, b, c, d) == [None, None, None, None]
    regroup_all()
    assert groups(a, b, c, d) == [None, None, None, None]


def test_a_placeholder_back_under_the_limit_links_its_holders_again(db, monkeypatch):
    monkeypatch.setattr("sellers.rings.HUB_LIMIT", 3)
    a, b, c, d = (seller(phone="0800 123 4567") for _ in range(4))
    assert groups(a, b, c, d) == [None, None, None, None]

    # when one of the four corrects its number, three accounts share it again
    d.phone = "030 1234567"
    save_seller(d)

    assert groups(a, b, c, d) == [a.pk, a.pk, a.pk, None]


def test_a_payment_account_that_becomes_a_placeholder_stops_linking(db, monkeypatch):
    monkeypatch.setattr("sellers.rings.HUB_LIMIT", 2)
    a, b, c = seller(), seller(), seller()
    set_payment_account(a, "DE89370400440532013000")
    set_payment_account(b, "DE89370400440532013000")
    assert groups(a, b) == [a.pk, a.pk]

    set_payment_account(c, "DE89370400440532013000")

    assert groups(a, b, c) == [None, None, None]


def test_a_placeholder_shared_with_a_closed_counterfeiter_raises_no_alert(db, monkeypatch):
    # given a seller closed for counterfeits whose phone is a call centre's, with a limit of 3
    monkeypatch.setattr("sellers.rings.HUB_LIMIT", 3)
    closed_counterfeiter(phone="0800 123 4567")
    others = [seller(phone="0800 123 4567") for _ in range(2)]
    assert len(Report.objects.filter(reason=ReportReason.LINKED_TO_CLOSED_SELLER)) == 2

    # when more accounts give the same number, past the limit: it links nobody
    others += [seller(phone="0800 123 4567") for _ in range(3)]

    # then only the accounts that joined while it still linked were alerted
    alerted = set(RingAlert.objects.values_list("seller_id", flat=True))
    assert alerted == {others[0].pk, others[1].pk}


def test_a_placeholder_back_under_the_limit_alerts_a_holder_now_linked_to_a_closed_seller(
    db, monkeypatch
):
    # given a closed counterfeiter, then X, then S giving the same phone, with a limit of two
    monkeypatch.setattr("sellers.rings.HUB_LIMIT", 2)
    closed, _ = closed_counterfeiter(phone="0800 123 4567")
    x = seller(phone="0800 123 4567")
    s = seller(phone="0800 123 4567")
    assert not RingAlert.objects.filter(seller=s).exists()  # a placeholder then: no evidence

    # when X corrects its number, the phone links the two left again
    x.phone = "030 1234567"
    save_seller(x)

    # then S is grouped with the closed seller and alerted, as the catalog import would
    assert groups(closed, s) == [closed.pk, closed.pk]
    assert RingAlert.objects.filter(seller=s, closed_seller=closed).exists()


def test_a_payment_account_back_under_the_limit_alerts_a_holder_linked_to_a_closed_seller(
    db, monkeypatch
):
    monkeypatch.setattr("sellers.rings.HUB_LIMIT", 2)
    closed, _ = closed_counterfeiter()
    x, s = seller(), seller()
    for account_holder in (closed, x, s):
        set_payment_account(account_holder, "DE89370400440532013000")
    assert not RingAlert.objects.filter(seller=s).exists()

    set_payment_account(x, "")

    assert groups(closed, s) == [closed.pk, closed.pk]
    assert RingAlert.objects.filter(seller=s, closed_seller=closed).exists()


def _greek_migration():
    import importlib

    return importlib.import_module("sellers.migrations.0003_greek_tax_ids_as_el")


def _stored_before_the_el_release(made: Seller, old_value: str) -> None:
    """Put back the tax-id identifier the release before stored for this seller."""
    SellerIdentifier.objects.filter(seller=made, kind=IdentifierKind.TAX_ID).update(value=old_value)
    Seller.objects.filter(pk=made.pk).update(link_group=None)


def test_greek_tax_id_migration_rewrites_the_old_gr_forms_only(db):
    from django.apps import apps

    greek = seller(tax_id="GR123456789", country="GR")
    german = seller(tax_id="GR 223 456 789", country="DE")
    bare = seller(tax_id="GR323456789", country="")
    other = seller(tax_id="GR12AB", country="GR")  # not a Greek VAT id: unchanged
    _stored_before_the_el_release(greek, "GR:GR123456789")
    _stored_before_the_el_release(german, "DE:GR223456789")
    _stored_before_the_el_release(bare, "GR323456789")

    assert _greek_migration().rewrite_greek_tax_ids(apps, None) == 3

    stored = dict(
        SellerIdentifier.objects.filter(kind=IdentifierKind.TAX_ID).values_list(
            "seller_id", "value"
        )
    )
    assert stored == {
        greek.pk: "EL123456789",
        german.pk: "EL223456789",
        bare.pk: "EL323456789",
        other.pk: "GR:GR12AB",
    }
    # exactly what the current normalisation says, so a later refresh changes nothing
    refresh_identifiers([greek.pk, german.pk, bare.pk, other.pk])
    assert (
        dict(
            SellerIdentifier.objects.filter(kind=IdentifierKind.TAX_ID).values_list(
                "seller_id", "value"
            )
        )
        == stored
    )


def test_after_the_greek_tax_id_migration_old_and_new_greek_accounts_are_linked(db):
    from django.apps import apps

    # given a seller closed for counterfeits stored under the old GR:GR form, and an account
    # whose bare Greek number was already stored as EL
    closed, _ = closed_counterfeiter(tax_id="GR 123 456 789", country="GR")
    _stored_before_the_el_release(closed, "GR:GR123456789")
    existing = seller(tax_id="123456789", country="GR")
    assert groups(closed, existing) == [None, None]

    # when the migration runs and the worker does the refresh it owes
    _greek_migration().rewrite_greek_tax_ids(apps, None)
    assert run_outbox() == 1

    # then the existing account is grouped with the closed seller and alerted
    assert groups(closed, existing) == [closed.pk, closed.pk]
    assert RingAlert.objects.filter(seller=existing, closed_seller=closed).exists()

    # and a new account giving the same id with GR joins them
    new = seller(tax_id="GR123456789", country="GR")
    assert groups(closed, existing, new) == [closed.pk, closed.pk, closed.pk]
    assert RingAlert.objects.filter(seller=new, closed_seller=closed).exists()


def test_greek_tax_id_migration_with_nothing_to_rewrite_owes_nothing(db):
    from django.apps import apps

    seller(tax_id="EL123456789", country="GR")

    assert _greek_migration().rewrite_greek_tax_ids(apps, None) == 0
    assert run_outbox() == 0
