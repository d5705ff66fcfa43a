"""Normalisation: two spellings of one identity compare equal; near misses do not."""

import pytest

from sellers.choices import IdentifierKind
from sellers.identity import (
    hash_address,
    hash_payment_account,
    mask,
    normalize_address_text,
    normalize_company_registration,
    normalize_email,
    normalize_phone,
    normalize_tax_id,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("jane.doe@gmail.com", "janedoe@gmail.com"),
        ("Jane.Doe+shop@GoogleMail.com", "janedoe@gmail.com"),
        ("  JANE@Example.COM ", "jane@example.com"),
        ("jane+ring1@example.com", "jane+ring2@example.com"),
        ("j.a.n.e@gmail.com.", "jane@gmail.com"),
    ],
)
def test_email_variants_of_one_mailbox_match(a, b):
    assert normalize_email(a) == normalize_email(b) != ""


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # Dots matter at providers that do not ignore them.
        ("jane.doe@example.com", "janedoe@example.com"),
        ("jane@gmail.com", "jane@gmail.co"),
        ("jane@example.com", "june@example.com"),
    ],
)
def test_different_mailboxes_do_not_match(a, b):
    assert normalize_email(a) != normalize_email(b)


def test_text_that_is_no_email_yields_no_identifier():
    assert normalize_email("not an address") == ""
    assert normalize_email("+tag@example.com") == ""


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("0151 2345 6789", "DE", "+4915123456789"),
        ("+49 (151) 234-56789", "", "+4915123456789"),
        ("0049 151 23456789", "FR", "+4915123456789"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("+1 415.555.2671", "DE", "+14155552671"),
        ("020 7946 0958", "GB", "+442079460958"),
    ],
)
def test_phone_formats_normalise_to_e164(raw, country, expected):
    assert normalize_phone(raw, country) == expected


def test_same_digits_in_different_countries_do_not_match():
    assert normalize_phone("030 1234567", "DE") != normalize_phone("030 1234567", "AT")


def test_phone_placeholder_yields_no_identifier():
    assert normalize_phone("n/a", "DE") == ""
    assert normalize_phone("123", "DE") == ""


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            ("Hauptstr. 5", "", "10115", "Berlin", "DE"),
            ("Hauptstraße 5", "", "10115", "BERLIN", "DE"),
        ),
        (
            ("Haupt Strasse 5", "", "10115", "Berlin", "DE"),
            ("hauptstrasse 5", "", "10115", "Berlin", "DE"),
        ),
        (
            ("12 Main St.", "Apt 4", "62701", "Springfield", "US"),
            ("12 Main Street", "Unit 4", "62701", "Springfield", "US"),
        ),
        (
            ("12 Main Street #4", "", "62701", "Springfield", "US"),
            ("12, Main Street, Apartment 4", "", "62701", "springfield", "US"),
        ),
        (
            ("1 Rue de la Paix", "", "75002", "Paris", "FR"),
            ("1 rue de la paix", "", "75002", "Paris", "FR"),
        ),
    ],
)
def test_address_spellings_of_one_place_match(a, b):
    assert normalize_address_text(*a) == normalize_address_text(*b) != ""
    assert hash_address(normalize_address_text(*a)) == hash_address(normalize_address_text(*b))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            ("12 Main Street", "", "62701", "Springfield", "US"),
            ("14 Main Street", "", "62701", "Springfield", "US"),
        ),
        (
            ("12 Main Street", "Apt 4", "62701", "Springfield", "US"),
            ("12 Main Street", "Apt 5", "62701", "Springfield", "US"),
        ),
        (
            ("Hauptstr. 5", "", "10115", "Berlin", "DE"),
            ("Hauptstr. 5", "", "80331", "München", "DE"),
        ),
    ],
)
def test_different_addresses_do_not_match(a, b):
    assert normalize_address_text(*a) != normalize_address_text(*b)


def test_tax_ids_normalise_to_one_prefixed_vat_number():
    assert normalize_tax_id("de 123.456.789", "DE") == "DE123456789"
    assert normalize_tax_id("DEDE123456789", "FR") == "DE123456789"
    assert normalize_tax_id("123456789", "DE") == "DE123456789"
    assert normalize_tax_id("123 456 789", "GR") == "EL123456789"
    assert normalize_tax_id("12-3456789", "US") == "US:123456789"
    assert normalize_tax_id("12-3456789", "CA") != normalize_tax_id("12-3456789", "US")
    assert normalize_tax_id("n/a", "DE") == ""


def test_company_registration_is_compared_per_country():
    assert normalize_company_registration("hrb 12345", "DE") == "DE:HRB12345"
    assert normalize_company_registration("HRB-12345", "DE") == "DE:HRB12345"
    assert normalize_company_registration("HRB 12345", "AT") != "DE:HRB12345"


def test_payment_account_is_a_keyed_hash_of_the_normalised_account(settings):
    settings.IDENTITY_HASH_KEY = "key-one"
    digest = hash_payment_account("DE89 3704 0044 0532 0130 00")
    assert digest == hash_payment_account("de89-3704-0044-0532-0130-00")
    assert "3704" not in digest
    assert len(digest) == 64
    settings.IDENTITY_HASH_KEY = "key-two"
    assert hash_payment_account("DE89 3704 0044 0532 0130 00") != digest


def test_masks_show_enough_to_recognise_and_no_more():
    assert mask(IdentifierKind.EMAIL, "janedoe@gmail.com") == "j***@gmail.com"
    assert mask(IdentifierKind.PHONE, "+4915123456789") == "+49********789"
    assert mask(IdentifierKind.PAYMENT, "abcdef0123456789") == "#abcdef"
    assert mask(IdentifierKind.ADDRESS, "0123456789abcdef") == "#012345"
    assert mask(IdentifierKind.TAX_ID, "DE123456789") == "DE*******89"
    assert mask(IdentifierKind.COMPANY_REGISTRATION, "DE:HRB12345") == "DE:HR****45"


@pytest.mark.parametrize("country", ["GR", "DE", ""])
def test_greek_vat_id_written_with_gr_matches_its_el_form(country):
    # Greece's VAT prefix is EL, but sellers (and invoices) often write GR: one id either way.
    assert normalize_tax_id("GR 123 456 789", country) == "EL123456789"
    assert normalize_tax_id("EL123456789", country) == "EL123456789"
    assert normalize_tax_id("GRGR123456789", country) == "EL123456789"  # typed twice


@pytest.mark.parametrize(
    "written", ["IBAN DE89 3704 0044 0532 0130 00", "iban: DE89370400440532013000"]
)
def test_an_iban_written_with_its_label_is_the_same_account(written):
    assert hash_payment_account(written) == hash_payment_account("DE89 3704 0044 0532 0130 00")
