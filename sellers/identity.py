"""Seller identifiers: normalised so that two spellings of one identity compare equal.

Counterfeiters reopen under new names but keep a phone, a bank account or a warehouse address.
Each seller's contact fields become ``SellerIdentifier`` rows (kind, normalised value); two
sellers are linked when they share one. Normalisation is what makes
``J.Doe+shop@GoogleMail.com`` and ``jdoe@gmail.com`` one person, and keeps ``+49 151 234`` from
matching ``+44 151 234``.

Values that would disclose too much if the table leaked are stored as hashes: the postal address
as SHA-256 of its normalised text, the payment account only as HMAC-SHA256 under
``settings.IDENTITY_HASH_KEY`` (the account number itself is never stored).

Keeping identifiers and groups current is explicit, not a ``post_save`` signal (house style: no
signals for business flow): every path that creates or changes sellers calls
``refresh_identifiers(seller_ids)`` — ``SellerAdmin.save_model`` and ``save_seller`` below
directly, the catalog import through the outbox (``enqueue_refresh``: the worker runs it after
each committed batch). It recomputes the identifiers of those sellers, re-links the groups they
touch (splits included) and raises repeat-offender alerts.
"""

import hashlib
import hmac
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.db import connection, transaction

from .choices import IdentifierKind
from .models import Seller, SellerIdentifier

# Kinds computed from the seller's own fields; payment accounts come only from
# ``set_payment_account`` and survive a refresh.
FIELD_KINDS = (
    IdentifierKind.EMAIL,
    IdentifierKind.PHONE,
    IdentifierKind.ADDRESS,
    IdentifierKind.TAX_ID,
    IdentifierKind.COMPANY_REGISTRATION,
)
HASHED_KINDS = (IdentifierKind.ADDRESS, IdentifierKind.PAYMENT)

# Providers that ignore dots in the local part, and the domain they are the same mailbox at.
DOTLESS_PROVIDERS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}

# EU VAT ids carry a country prefix (Greece's is EL); a bare number from a seller there gets it.
_EU = "AT BE BG CY CZ DE DK EE ES FI FR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK XI"
EU_VAT_PREFIX = {
    **{c: c for c in _EU.split()},
    "GR": "EL",
}

# Placeholders sellers type when a form insists: they link everybody to everybody.
JUNK = {"", "NA", "NONE", "NULL", "N/A", "-", "0", "TBD", "UNKNOWN"}

ADDRESS_WORDS = {
    "st": "street",
    "str": "strasse",
    "ave": "avenue",
    "av": "avenue",
    "rd": "road",
    "blvd": "boulevard",
    "dr": "drive",
    "ln": "lane",
    "sq": "square",
    "pl": "place",
    "apt": "unit",
    "apartment": "unit",
    "suite": "unit",
    "ste": "unit",
    "flat": "unit",
    "no": "",
    "nr": "",
    "number": "",
}

BATCH = 2000


def _chunks(ids: list[int], size: int = BATCH) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


# --- normalisers -------------------------------------------------------------------------------


def normalize_email(raw: str) -> str:
    """Lower-case, drop the plus-tag, drop dots where the provider ignores them; '' if invalid."""
    value = (raw or "").strip().lower()
    if value.count("@") != 1:
        return ""
    local, domain = value.split("@")
    domain = domain.strip().rstrip(".")
    local = local.split("+", 1)[0].strip()
    if domain in DOTLESS_PROVIDERS:
        domain = DOTLESS_PROVIDERS[domain]
        local = local.replace(".", "")
    if not local or "." not in domain:
        return ""
    return f"{local}@{domain}"


def normalize_phone(raw: str, country: str = "") -> str:
    """E.164 (``+4915123456789``); a number without ``+`` takes the seller's country code.

    Trunk prefixes (the German or British leading 0) are dropped by the numbering plan of the
    country, so ``0151 2345 6789`` in DE and ``+49 151 23456789`` are one number. '' if the text
    is not a phone number at all.
    """
    text = (raw or "").strip()
    if not re.search(r"\d{4}", re.sub(r"\D", "", text)):
        return ""
    if text.startswith("00"):
        text = "+" + text[2:]
    region = (country or "").upper() or None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        digits = re.sub(r"\D", "", text)
        # No country to place it in: compare the digits as they are, marked as unplaced.
        return f"?{digits}" if len(digits) >= 6 else ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_address_text(
    line1: str, line2: str = "", postal_code: str = "", city: str = "", country: str = ""
) -> str:
    """Case-folded, accent- and punctuation-free address with street words spelled out.

    ``Hauptstr. 5`` = ``Hauptstraße 5`` = ``Haupt Strasse 5``; ``12 Main St., Apt 4`` =
    ``12 main street unit 4``. The region is left out: it is spelled too many ways and the
    postal code already places the address. '' if there is no street line.
    """
    if not (line1 or "").strip():
        return ""
    text = " ".join([line1, line2 or "", postal_code or "", city or "", country or ""])
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("#", " unit ")
    text = re.sub(r"[^\w\s]", " ", text).replace("_", " ")
    words: list[str] = []
    for word in text.split():
        if word.endswith("str") and len(word) > 3 and word.isalpha():
            word = word[:-3] + "strasse"  # German compound: Hauptstr. -> hauptstrasse
        word = ADDRESS_WORDS.get(word, word)
        if not word:
            continue
        if word == "strasse" and words and words[-1].isalpha():
            words[-1] += word  # "Haupt Strasse" and "Hauptstrasse" are one street
            continue
        words.append(word)
    return " ".join(words)


def _code(raw: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", (raw or "").upper())


def normalize_tax_id(raw: str, country: str = "") -> str:
    """Upper-case alphanumerics; EU VAT ids with one country prefix, others scoped by country.

    ``de 123.456.789``, ``DEDE123456789`` and a German seller's bare ``123456789`` all become
    ``DE123456789`` (a Greek ``GR123456789`` is ``EL123456789``); a US EIN ``12-3456789``
    becomes ``US:123456789``.
    """
    value = _code(raw)
    if value in JUNK or not re.search(r"\d", value):
        return ""
    country = (country or "").upper()
    prefix = value[:2] if len(value) > 2 and value[:2].isalpha() else ""
    while prefix and value[2:4] == prefix:  # a prefix typed twice
        value = value[2:]
    if prefix == "GR" and value[2:].isdigit():  # Greece's ISO code, written for its VAT's EL
        value, prefix = "EL" + value[2:], "EL"
    if prefix in EU_VAT_PREFIX.values():
        return value
    if country in EU_VAT_PREFIX and not prefix:
        return EU_VAT_PREFIX[country] + value
    return f"{country}:{value}" if country else value


def normalize_company_registration(raw: str, country: str = "") -> str:
    """Upper-case alphanumerics, scoped by country: registers number companies per country."""
    value = _code(raw)
    if value in JUNK or not re.search(r"\d", value):
        return ""
    return f"{(country or '').upper()}:{value}"


def hash_address(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest() if text else ""


def normalize_payment_account(raw: str) -> str:
    """IBAN or account number as upper-case alphanumerics (spaces and dashes are formatting;
    an IBAN copied with its label, ``IBAN DE89 …``, is the IBAN)."""
    value = _code(raw)
    if re.fullmatch(r"IBAN[A-Z]{2}[0-9]{2}[0-9A-Z]{6,}", value):
        value = value[4:]
    return "" if value in JUNK or len(value) < 6 else value


def hash_payment_account(raw: str) -> str:
    """HMAC-SHA256 of the normalised account under IDENTITY_HASH_KEY; '' if not an account."""
    value = normalize_payment_account(raw)
    if not value:
        return ""
    key = settings.IDENTITY_HASH_KEY.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


# --- explaining a match ------------------------------------------------------------------------


def mask(kind: str, value: str) -> str:
    """The identifier as an analyst or a packet may show it: enough to recognise, not to use."""
    if kind in HASHED_KINDS:
        return f"#{value[:6]}"
    if kind == IdentifierKind.EMAIL and "@" in value:
        local, domain = value.split("@", 1)
        return f"{local[:1]}***@{domain}"
    if kind == IdentifierKind.PHONE:
        code = ""
        try:
            code = f"+{phonenumbers.parse(value).country_code}"
        except phonenumbers.NumberParseException:
            code = value[:1]
        hidden = max(len(value) - len(code) - 3, 0)
        return f"{code}{'*' * hidden}{value[-3:]}"
    scope, _, code = value.rpartition(":")
    shown = f"{code[:2]}{'*' * max(len(code) - 4, 1)}{code[-2:]}" if len(code) > 4 else "***"
    return f"{scope}:{shown}" if scope else shown


@dataclass(frozen=True)
class SharedIdentifier:
    """One identifier two sellers have in common, explained: its kind and its masked value."""

    kind: str
    masked: str

    @property
    def label(self) -> str:
        return str(IdentifierKind(self.kind).label)

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "label": self.label, "value": self.masked}


# --- computing and storing ---------------------------------------------------------------------


def identifiers_for(seller: Seller) -> set[tuple[str, str]]:
    """The (kind, value) pairs a seller's own fields yield (payment accounts excluded)."""
    return _identifiers(*(getattr(seller, name) for name in _SELLER_FIELDS[1:]))


def _identifiers(
    email: str,
    phone: str,
    line1: str,
    line2: str,
    postal_code: str,
    city: str,
    country: str,
    tax_id: str,
    company_registration: str,
) -> set[tuple[str, str]]:
    country = country or ""
    address_text = normalize_address_text(line1, line2, postal_code, city, country)
    pairs = {
        (IdentifierKind.EMAIL.value, normalize_email(email)),
        (IdentifierKind.PHONE.value, normalize_phone(phone, country)),
        (IdentifierKind.ADDRESS.value, hash_address(address_text)),
        (IdentifierKind.TAX_ID.value, normalize_tax_id(tax_id, country)),
        (
            IdentifierKind.COMPANY_REGISTRATION.value,
            normalize_company_registration(company_registration, country),
        ),
    }
    return {(kind, value[:255]) for kind, value in pairs if value}


# The seller columns identifiers are made of, in _identifiers' order after the id.
_SELLER_FIELDS = (
    "id",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "country",
    "tax_id",
    "company_registration",
)

IdentifierRow = tuple[int, str, str]  # seller_id, kind, value


def _sync_identifiers(seller_ids: list[int]) -> dict[tuple[str, str], int]:
    """Make the stored field identifiers of these sellers what their fields say now.

    Set-based per chunk of sellers: one read of their fields, one of their stored identifiers,
    one delete and one insert, with plain tuples (no model instance per identifier). Returns
    each (kind, value) added or removed, with holders added minus removed: the places where
    groups may have changed.
    """
    changed: dict[tuple[str, str], int] = defaultdict(int)
    for chunk in _chunks(seller_ids):
        wanted: dict[int, set[tuple[str, str]]] = {
            row[0]: _identifiers(*row[1:])
            for row in Seller.objects.filter(pk__in=chunk).values_list(*_SELLER_FIELDS)
        }
        stored: dict[int, dict[tuple[str, str], int]] = {pk: {} for pk in wanted}
        for pk, seller_id, kind, value in SellerIdentifier.objects.filter(
            seller_id__in=chunk, kind__in=FIELD_KINDS
        ).values_list("pk", "seller_id", "kind", "value"):
            stored.setdefault(seller_id, {})[(kind, value)] = pk
        stale: list[int] = []
        new: list[IdentifierRow] = []
        for seller_id, have in stored.items():
            want = wanted.get(seller_id, set())
            for pair, pk in have.items():
                if pair not in want:
                    stale.append(pk)
                    changed[pair] -= 1
            for pair in want - have.keys():
                new.append((seller_id, pair[0], pair[1]))
                changed[pair] += 1
        if stale:
            SellerIdentifier.objects.filter(pk__in=stale).delete()
        _insert_rows(new)
    return changed


def insert_identifiers(rows: list[SellerIdentifier]) -> None:
    """Insert identifiers, skipping ones already stored; one array insert on PostgreSQL."""
    _insert_rows([(r.seller_id, r.kind, r.value) for r in rows])


def _insert_rows(rows: list[IdentifierRow]) -> None:
    """Insert (seller_id, kind, value) rows, skipping ones already stored.

    At catalog scale the ORM's per-object insert costs more than normalising: PostgreSQL takes
    three arrays and ``unnest``s them instead.
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        SellerIdentifier.objects.bulk_create(
            [SellerIdentifier(seller_id=s, kind=k, value=v) for s, k, v in rows],
            ignore_conflicts=True,
            batch_size=BATCH,
        )
        return
    table = connection.ops.quote_name(SellerIdentifier._meta.db_table)
    sql = (
        f"INSERT INTO {table} (seller_id, kind, value) "  # noqa: S608 - the model's own table
        "SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[]) ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 10 * BATCH):
            part = rows[start : start + 10 * BATCH]
            cursor.execute(sql, [list(column) for column in zip(*part, strict=True)])


@transaction.atomic
def refresh_identifiers(seller_ids: Iterable[int], *, alert: bool = True) -> None:
    """Recompute these sellers' identifiers, re-link their groups, raise repeat-offender alerts.

    Call it from every path that creates or changes sellers (admin, services), with the ids it
    touched; it is cheap for a handful and batched for a whole catalog. The catalog import owes
    it to the worker instead (:func:`enqueue_refresh`).
    Running it twice changes nothing.
    """
    from .rings import flag_repeat_offenders, holders_of_flipped, regroup

    ids = sorted({int(pk) for pk in seller_ids})
    if not ids:
        return
    changed = _sync_identifiers(ids)
    # An identifier that crossed the placeholder limit changes its other holders' groups too,
    # and one that links again may link them to a closed seller: they are alerted like the
    # sellers that changed (as the import's worker does for the holders it is owed).
    touched = {*ids, *holders_of_flipped(changed)}
    regroup(touched)
    if alert:
        flag_repeat_offenders(touched)


REFRESH_TASK = "sellers.tasks.refresh_identifiers_task"


def enqueue_refresh(seller_ids: Iterable[int]) -> int:
    """Owe ``refresh_identifiers`` for these sellers through the outbox, in the caller's
    transaction: the Celery worker recomputes their identifiers and rings after the commit, in
    messages of ``BATCH`` sellers. Never lost (the outbox relays what is owed); rings are current
    once the worker has drained the messages. Returns the number of messages.
    """
    from outbox.services import enqueue_many

    ids = sorted({int(pk) for pk in seller_ids})
    return len(enqueue_many(REFRESH_TASK, ([chunk] for chunk in _chunks(ids))))


@transaction.atomic
def set_payment_accounts(accounts: dict[int, str], *, refresh: bool = True) -> None:
    """Record payment accounts (IBAN, account number) by seller id, as keyed hashes only.

    Each replaces that seller's previous payment account; an empty value removes it. The clear
    value is stored nowhere: only HMAC-SHA256 under ``IDENTITY_HASH_KEY``. The catalog import
    passes its ``payment_account`` column here (``refresh=False``, then ``enqueue_refresh``).
    """
    from .rings import flag_repeat_offenders, holders_of_flipped, regroup

    digests = {int(pk): hash_payment_account(raw) for pk, raw in accounts.items()}
    changed: dict[tuple[str, str], int] = defaultdict(int)
    for chunk in _chunks(sorted(digests)):
        stale: list[int] = []
        kept: set[int] = set()
        for pk, seller_id, value in SellerIdentifier.objects.filter(
            seller_id__in=chunk, kind=IdentifierKind.PAYMENT
        ).values_list("pk", "seller_id", "value"):
            if value != digests[seller_id]:
                stale.append(pk)
                changed[(IdentifierKind.PAYMENT.value, value)] -= 1
            else:
                kept.add(seller_id)
        SellerIdentifier.objects.filter(pk__in=stale).delete()
        added = [pk for pk in chunk if digests[pk] and pk not in kept]
        for pk in added:
            changed[(IdentifierKind.PAYMENT.value, digests[pk])] += 1
        insert_identifiers(
            [
                SellerIdentifier(seller_id=pk, kind=IdentifierKind.PAYMENT, value=digests[pk])
                for pk in added
            ]
        )
    # An account that crossed the placeholder limit changes its other holders' groups too.
    others = holders_of_flipped(changed) - digests.keys()
    if refresh:
        refresh_identifiers(digests)
        regroup(others)
        flag_repeat_offenders(others)
    elif others:
        enqueue_refresh(others)


def set_payment_account(seller: Seller, raw: str) -> None:
    """Record one seller's payment account as a keyed hash (see ``set_payment_accounts``)."""
    set_payment_accounts({seller.pk: raw})


def save_seller(seller: Seller, *, payment_account: str | None = None) -> Seller:
    """Save a seller created or edited outside the catalog import, and keep its links current."""
    with transaction.atomic():
        seller.save()
        if payment_account is not None:
            set_payment_account(seller, payment_account)
        else:
            refresh_identifiers([seller.pk])
    return seller
