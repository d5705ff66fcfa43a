"""Catalog import: how a marketplace syncs sellers, products, listings and sales into Touchstone.

The file is JSON Lines or CSV; each row names its kind in a ``type`` (or ``kind``) column:
``seller``, ``product``, ``listing`` or ``sale``. Rows are upserted by the marketplace's
``external_id``, so importing the same file twice leaves the same rows.

How it works, and why:

- Every row is validated before anything is written; a bad row is reported with its line
  number and skipped, and the import goes on. ``validate_row`` is the one authority on what a
  row means and on every message.
- Rows are written in batches (``batch_size`` lines, one transaction each): one
  ``INSERT … ON CONFLICT (external_id) DO UPDATE`` per kind and batch.
- On PostgreSQL the import takes the set-based path (``listings.import_sql``, batches of
  ``SQL_BATCH_SIZE`` lines): JSON Lines go in by ``COPY`` unparsed (a CSV file's records are
  read by the csv module and handed over as one JSON object a line), PostgreSQL parses them as
  ``jsonb`` and accepts the rows whose values have the usual shapes by SQL forms of the same
  rules; every other line (odd shapes, bad rows) goes through ``validate_row``. Elsewhere
  (SQLite, for ``make run``) each row is read and validated in Python and written with
  ``bulk_create(update_conflicts=True)``. Same rows and same bad-row messages either way
  (``tests/listings/test_import_paths.py``).
- Inside a batch sellers and products are written before the listings that name them, and
  listings before their sales, so a file in that order (or with a row and its references in the
  same batch) resolves. A reference to something neither in Touchstone nor earlier in the file
  is a bad row.
- After each committed batch a checkpoint (the file's SHA-256 and the last committed line) is
  written next to the input; a crashed import run again resumes after that line. A finished
  import removes its checkpoint, so the next run of the same file starts from the top.
- Sellers' identifiers and ring groups (``sellers.identity.refresh_identifiers``: phone
  normalisation, ring walk) are not recomputed inside the import: each batch owes them through
  the outbox (``sellers.identity.enqueue_refresh``, in the batch's transaction), and the Celery
  worker recomputes them after the commit. Never lost (the outbox relays what is owed); rings
  and repeat-offender alerts are current once the worker has drained those messages, seconds
  to minutes after the import, not when the command returns.
- A seller row may carry a ``payment_account`` (IBAN or account number). It is never stored:
  it goes only through ``sellers.identity.set_payment_accounts`` (a keyed hash, for linking
  ring accounts), in the import. A blank one leaves the seller's recorded account as it is; a
  bad one is a bad row whose message does not repeat it.
- Touchstone owns some fields once a row exists: a seller's account status and a listing's
  status (a case closure delists; a later sync must not quietly re-list). Those are set on
  insert only.
"""

import csv
import hashlib
import io
import json
import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from itertools import islice
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.api import LONE_SURROGATE
from counterfeits.models import Brand
from sellers.identity import enqueue_refresh, normalize_payment_account, set_payment_accounts
from sellers.models import Seller, SellerIdentifier

from .choices import ListingStatus
from .models import Listing, Marketplace, Product, Sale

KINDS = ("seller", "product", "listing", "sale")
FORMATS = ("jsonl", "csv")
DEFAULT_BATCH_SIZE = 2000
# Lines per transaction on the set-based PostgreSQL path (listings.import_sql).
SQL_BATCH_SIZE = 100_000
MAX_KEPT_ERRORS = 10_000


_SPACE = re.compile(r"\s")


class RowError(ValueError):
    """A value that does not fit its column; the message says what would."""


# --- column parsers: each takes the raw value (str from CSV, any JSON scalar) ---------------


def _text(max_length: int) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if isinstance(value, (dict, list)):  # noqa: UP038 - a tuple is faster, per field
            raise RowError("must be text, not a list or an object")
        text = str(value).strip()
        if len(text) > max_length:
            raise RowError(f"at most {max_length} characters (got {len(text)})")
        if "\x00" in text:  # PostgreSQL text cannot hold it
            raise RowError("must not contain a NUL character")
        if not text.isascii() and (found := LONE_SURROGATE.search(text)):
            # JSON may escape one (\ud800); no UTF-8 text, so no PostgreSQL text, can hold it
            raise RowError(f"must not contain a lone surrogate (U+{ord(found[0]):04X})")
        return text

    return parse


def _country(value: Any) -> str:
    code = str(value).strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise RowError(f"a two-letter ISO 3166-1 country code such as US or DE (got {value!r})")
    return code


EMAIL_MAX_LENGTH = Seller._meta.get_field("email").max_length


def _email(value: Any) -> str:
    address = _text(EMAIL_MAX_LENGTH)(value)
    try:
        validate_email(address)
    except ValidationError:
        raise RowError(f"not a valid e-mail address: {address!r}") from None
    return address


# The shape nearly every marketplace URL has: accepted without urlsplit (a third of a listing
# row's validation). Anything else takes the full check below, which accepts all of these too.
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]+)?(?:[/?#]\S*)?")


URL_MAX_LENGTH = Listing._meta.get_field("url").max_length
# A payment account is never stored (only its keyed hash): this bounds what we read.
PAYMENT_ACCOUNT_MAX_LENGTH = 100


def _url(value: Any) -> str:
    # A structural check (scheme, host, no spaces): Django's URLValidator regex costs more than
    # the rest of a listing row's validation together, at a million rows.
    url = _text(URL_MAX_LENGTH)(value)
    if _PLAIN_URL.fullmatch(url):
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        host = None
    if host is None or parts.scheme not in ("http", "https") or _SPACE.search(url):
        raise RowError(f"not a valid http(s) URL: {url!r}")
    return url


def _price(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise RowError(f"a decimal amount such as 19.99 (got {value!r})") from None
    if not amount.is_finite() or amount < 0:
        raise RowError(f"a non-negative amount (got {value!r})")
    if amount.as_tuple().exponent < -2:
        raise RowError(f"at most two decimal places (got {value!r})")
    if amount >= Decimal("1e10"):
        raise RowError(f"below 10,000,000,000 (got {value!r})")
    return amount


def _currency(value: Any) -> str:
    code = str(value).strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise RowError(f"a three-letter ISO 4217 currency code such as USD (got {value!r})")
    return code


def _positive_int(value: Any) -> int:
    if isinstance(value, bool):
        raise RowError(f"a whole number above 0 (got {value!r})")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise RowError(f"a whole number above 0 (got {value!r})") from None
    if not 0 < number <= 2_147_483_647:
        raise RowError(f"a whole number above 0 (got {value!r})")
    return number


_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RowError(f"true or false (got {value!r})")


def _gtin(value: Any) -> str:
    digits = str(value).strip()
    if not digits.isdigit() or len(digits) not in (8, 12, 13, 14):
        raise RowError(f"a GTIN of 8, 12, 13 or 14 digits (got {value!r})")
    return digits


def _datetime(value: Any) -> datetime:
    text = str(value).strip()
    try:
        parsed = parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise RowError(f"an ISO-8601 date and time such as 2026-01-31T14:05:00Z (got {value!r})")
    # A time without an offset is taken as UTC: marketplaces export in UTC unless they say.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _status(value: Any) -> str:
    status = str(value).strip().lower()
    if status not in ListingStatus.values:
        raise RowError(f"one of {', '.join(ListingStatus.values)} (got {value!r})")
    return status


def _payment_account(value: Any) -> str:
    # Kept in memory only until sellers.identity.set_payment_accounts hashes it; the message
    # never repeats the value (bad rows are printed and logged).
    account = _text(PAYMENT_ACCOUNT_MAX_LENGTH)(value)
    if not normalize_payment_account(account):
        raise RowError("an IBAN or account number of at least 6 letters and digits")
    return account


@dataclass(frozen=True)
class Column:
    """One column of a row: its parser, and the same rule's name for the SQL path.

    ``shape`` names the parser for ``listings.import_sql``, which accepts in SQL only values
    this parser accepts, and leaves every other value to the parser itself (one set of rules).
    """

    parse: Callable[[Any], Any]
    required: bool = False
    default: Any = ""
    shape: str = "text"
    max_length: int | None = None


def _text_column(model: type, name: str, *, required: bool = False) -> Column:
    max_length = model._meta.get_field(name).max_length
    return Column(_text(max_length), required=required, max_length=max_length)


SCHEMAS: dict[str, dict[str, Column]] = {
    "seller": {
        "external_id": _text_column(Seller, "external_id", required=True),
        "name": _text_column(Seller, "name", required=True),
        "email": Column(_email, required=True, shape="email", max_length=EMAIL_MAX_LENGTH),
        "country": Column(_country, required=True, shape="country"),
        **{
            name: _text_column(Seller, name)
            for name in (
                "company_name",
                "company_registration",
                "tax_id",
                "phone",
                "address_line1",
                "address_line2",
                "city",
                "region",
                "postal_code",
            )
        },
        # Never stored: only its keyed hash, through sellers.identity.set_payment_accounts.
        "payment_account": Column(
            _payment_account,
            default=None,
            shape="payment_account",
            max_length=PAYMENT_ACCOUNT_MAX_LENGTH,
        ),
    },
    "product": {
        "external_id": _text_column(Product, "external_id", required=True),
        "brand": _text_column(Brand, "name", required=True),
        "title": _text_column(Product, "title", required=True),
        "gtin": Column(_gtin, shape="gtin"),
        "safety_risk": Column(_bool, default=False, shape="bool"),
    },
    "listing": {
        "external_id": _text_column(Listing, "external_id", required=True),
        "seller": _text_column(Seller, "external_id", required=True),
        "product": _text_column(Product, "external_id", required=True),
        "marketplace": _text_column(Marketplace, "code", required=True),
        "marketplace_country": Column(_country, default=None, shape="country"),
        "title": _text_column(Listing, "title", required=True),
        "url": Column(_url, shape="url", max_length=URL_MAX_LENGTH),
        "price": Column(_price, required=True, shape="price"),
        "currency": Column(_currency, default="USD", shape="currency"),
        "status": Column(_status, default=ListingStatus.ACTIVE, shape="status"),
    },
    "sale": {
        "external_id": _text_column(Sale, "external_id", required=True),
        "listing": _text_column(Listing, "external_id", required=True),
        "units": Column(_positive_int, required=True, shape="positive_int"),
        "customer_country": Column(_country, required=True, shape="country"),
        "sold_at": Column(_datetime, required=True, shape="datetime"),
    },
}

# Alternative column names a marketplace export may use for the same thing.
ALIASES = {
    "seller": {"seller_id": "external_id", "id": "external_id"},
    "product": {"product_id": "external_id", "id": "external_id", "brand_name": "brand"},
    "listing": {
        "listing_id": "external_id",
        "id": "external_id",
        "seller_id": "seller",
        "product_id": "product",
        "marketplace_code": "marketplace",
        # In a listing row "country" can only mean its marketplace's.
        "country": "marketplace_country",
    },
    "sale": {"sale_id": "external_id", "id": "external_id", "listing_id": "listing"},
}

# Fields an import may overwrite on an existing row (everything else is set on insert only).
# Columns of a seller row that are not Seller fields.
SELLER_EXTRAS = ("payment_account",)
UPDATE_FIELDS = {
    "seller": [
        *(n for n in SCHEMAS["seller"] if n != "external_id" and n not in SELLER_EXTRAS),
        "updated_at",
    ],
    "product": ["brand", "title", "gtin", "safety_risk"],
    "listing": ["seller", "product", "marketplace", "title", "url", "price", "currency"],
    "sale": ["listing", "units", "customer_country", "sold_at"],
}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# Per kind: its schema as (name, column) pairs, read once per row.
_COLUMNS = {kind: tuple(schema.items()) for kind, schema in SCHEMAS.items()}


def validate_row(raw: dict[str, Any]) -> tuple[str | None, dict[str, Any], dict[str, str]]:
    """Check one row: return (kind, clean values, errors by field). Errors empty means good."""
    kind_value = raw.get("type", raw.get("kind"))
    kind = str(kind_value).strip().lower().removesuffix("s") if not _blank(kind_value) else ""
    if kind not in SCHEMAS:
        got = "nothing" if _blank(kind_value) else repr(kind_value)
        return None, {}, {"type": f"one of {', '.join(KINDS)} (got {got})"}
    aliases = ALIASES[kind]
    schema = SCHEMAS[kind]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = aliases.get(key, key)
        if name in schema and (name not in values or _blank(values[name])):
            values[name] = value
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    # _blank inlined: this loop runs for every field of every row of a million-row catalog.
    for name, column in _COLUMNS[kind]:
        value = values.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if column.required:
                errors[name] = "required"
            else:
                clean[name] = column.default
            continue
        try:
            clean[name] = column.parse(value)
        except RowError as exc:
            errors[name] = str(exc)
    return kind, clean, errors


# --- reading the file ------------------------------------------------------------------------


def detect_format(path: Path, fmt: str | None = None) -> str:
    """The file's format: ``fmt`` if given, else from the extension (.jsonl/.ndjson/.json, .csv)."""
    if fmt:
        if fmt not in FORMATS:
            raise ValueError(f"Unknown format {fmt!r}: use one of {', '.join(FORMATS)}.")
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        raise ValueError("Compressed files are not read: decompress first.")
    if suffixes and suffixes[-1] in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffixes and suffixes[-1] in (".csv",):
        return "csv"
    raise ValueError(f"Cannot tell the format of {path.name}: pass --format jsonl or csv.")


Row = tuple[int, dict[str, Any] | None, str | None]  # line, values, or why it is unreadable


def parse_jsonl_line(line: str) -> tuple[dict[str, Any] | None, str | None]:
    """One line of a JSON Lines file: its object, or why it is unreadable."""
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc.msg} at column {exc.colno})"
    except RecursionError:  # ~1,000 levels of [ or {: a few kilobytes
        return None, "not valid JSON (nested too deeply)"
    if not isinstance(value, dict):
        return None, "each line must be one JSON object"
    return value, None


# Files are read with errors="surrogateescape" (open_catalog): a byte that is not UTF-8 arrives
# as a lone surrogate, U+DC80..U+DCFF, which decoded UTF-8 never holds. The line or record that
# has one is a bad row, and reading goes on.
UNDECODABLE = re.compile("[\udc80-\udcff]")


def open_catalog(path: Path, *, csv_format: bool = False) -> TextIO:
    """The file as text: UTF-8 with or without a BOM, undecodable bytes kept as surrogates."""
    # newline="" lets the csv module see line ends inside quoted fields.
    return path.open(
        encoding="utf-8-sig", errors="surrogateescape", newline="" if csv_format else None
    )


def _not_utf8(match: re.Match[str], where: str) -> str:
    return f"not UTF-8 text (byte 0x{ord(match.group()) - 0xDC00:02x} {where})"


def read_jsonl(handle: TextIO, first_line: int = 1) -> Iterator[Row]:
    for line_no, line in enumerate(handle, start=first_line):
        if line.strip():
            if (match := UNDECODABLE.search(line)) is not None:
                yield line_no, None, _not_utf8(match, f"at column {match.start() + 1}")
            else:
                yield line_no, *parse_jsonl_line(line)


def _undecodable_field(record: dict[str, Any]) -> str | None:
    for key, value in record.items():
        if (match := UNDECODABLE.search(key)) is not None:
            return _not_utf8(match, "in the header")
        if isinstance(value, str) and (match := UNDECODABLE.search(value)) is not None:
            return _not_utf8(match, f"in field {key!r}")
    return None


def read_csv(handle: TextIO) -> Iterator[Row]:
    reader = csv.DictReader(handle)
    previous_end = 1  # the header line
    for record in reader:
        start = previous_end + 1
        previous_end = reader.line_num
        if None in record:
            yield start, None, f"more fields than the header has ({len(reader.fieldnames)})"
            continue
        if all(_blank(value) for value in record.values()):
            continue
        yield start, record, _undecodable_field(record)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- the checkpoint ----------------------------------------------------------------------------


def default_checkpoint_path(path: Path) -> Path:
    return path.with_name(path.name + ".import-checkpoint.json")


def read_checkpoint(checkpoint: Path, sha256: str) -> int:
    """The last committed line of this very file (by content), or 0."""
    try:
        data = json.loads(checkpoint.read_text())
    except (OSError, ValueError):
        return 0
    if not isinstance(data, dict) or data.get("sha256") != sha256:
        return 0
    line = data.get("line")
    return line if isinstance(line, int) and line > 0 else 0


def write_checkpoint(checkpoint: Path, *, sha256: str, line: int, source: Path) -> None:
    # Written to a temporary file and renamed: a crash mid-write leaves the old checkpoint whole.
    tmp = checkpoint.with_name(checkpoint.name + ".tmp")
    tmp.write_text(
        json.dumps(
            {
                "file": str(source),
                "sha256": sha256,
                "line": line,
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
    )
    os.replace(tmp, checkpoint)


# --- the report --------------------------------------------------------------------------------


@dataclass
class BadRow:
    line: int
    errors: dict[str, str]

    def __str__(self) -> str:
        details = "; ".join(f"{name}: {message}" for name, message in self.errors.items())
        return f"line {self.line}: {details}"


@dataclass
class ImportReport:
    """What an import did: rows written per kind, bad rows (line and reasons), where it began."""

    upserted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    bad_rows: list[BadRow] = field(default_factory=list)
    bad_count: int = 0
    lines_read: int = 0
    # Lines the SQL path left to validate_row (unusual shapes and bad rows); 0 elsewhere.
    checked_in_python: int = 0
    resumed_after_line: int = 0
    last_line: int = 0
    seconds: float = 0.0

    @property
    def rows_written(self) -> int:
        return sum(self.upserted.values())

    def add_bad(self, bad: BadRow) -> None:
        self.bad_count += 1
        if len(self.bad_rows) < MAX_KEPT_ERRORS:
            self.bad_rows.append(bad)


# --- writing a batch ---------------------------------------------------------------------------

Pending = dict[str, dict[str, tuple[int, dict[str, Any]]]]  # kind -> external_id -> (line, row)


def _ids_by_external_id(model: type, external_ids: Iterable[str]) -> dict[str, int]:
    wanted = list(set(external_ids))
    found: dict[str, int] = {}
    if connection.vendor == "postgresql":
        # One array parameter: Django's IN (...) prepares each of thousands of values in Python.
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            for start in range(0, len(wanted), 20_000):
                cursor.execute(
                    f"SELECT external_id, id FROM {table} "  # noqa: S608 - the model's own table
                    "WHERE external_id = ANY(%s::varchar[])",
                    [wanted[start : start + 20_000]],
                )
                found.update(cursor.fetchall())
        return found
    for start in range(0, len(wanted), 5000):
        chunk = wanted[start : start + 5000]
        found.update(model.objects.filter(external_id__in=chunk).values_list("external_id", "id"))
    return found


def _defaults_for(model: type, columns: set[str]) -> dict[str, Any]:
    """What the model itself would store in the columns an import row does not carry."""
    now = timezone.now()
    values: dict[str, Any] = {}
    for f in model._meta.concrete_fields:
        if f.primary_key or f.column in columns:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            values[f.column] = now
        else:
            values[f.column] = f.get_default()  # None for a nullable field without a default
    return values


def _copy_upsert(model: type, kind: str, rows: list[dict[str, Any]]) -> dict[str, int]:
    """PostgreSQL: COPY the batch into a temporary table, then one INSERT … SELECT … ON CONFLICT.

    Same statement as bulk_create(update_conflicts=True) writes, without compiling one
    placeholder per value in Python (most of an import's time at a million rows). Returns the
    rows' ids by external id (inserted and updated alike).
    """
    table = connection.ops.quote_name(model._meta.db_table)
    columns = list(rows[0])
    extras = _defaults_for(model, set(columns))
    quote = connection.ops.quote_name
    stage = quote(f"import_stage_{kind}")
    column_sql = ", ".join(quote(c) for c in columns)
    update_columns = [model._meta.get_field(name).column for name in UPDATE_FIELDS[kind]]
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_STRINGS, lineterminator="\n")
    writer.writerows([row[c] for c in columns] for row in rows)
    buffer.seek(0)
    with connection.cursor() as cursor:
        # Dropped at commit; dropped here too when the batch runs inside an outer transaction.
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS "  # noqa: S608 - our own names
            f"SELECT {column_sql} FROM {table} WITH NO DATA"
        )
        cursor.copy_expert(f"COPY {stage} ({column_sql}) FROM STDIN WITH (FORMAT csv)", buffer)
        extra_sql = "".join(f", {quote(c)}" for c in extras)
        placeholders = "".join(", %s" for _ in extras)
        updates = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in update_columns)
        cursor.execute(
            f"INSERT INTO {table} ({column_sql}{extra_sql}) "  # noqa: S608 - our own names
            f"SELECT {column_sql}{placeholders} FROM {stage} "
            f"ON CONFLICT ({quote('external_id')}) DO UPDATE SET {updates} "
            f"RETURNING {quote('external_id')}, {quote('id')}",
            list(extras.values()),
        )
        ids = dict(cursor.fetchall())
        cursor.execute(f"DROP TABLE {stage}")
    return ids


def _upsert(model: type, kind: str, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert or update rows (dicts of column values) by external_id; their ids by external id."""
    if not rows:
        return {}
    if connection.vendor == "postgresql":
        return _copy_upsert(model, kind, rows)
    model.objects.bulk_create(
        [model(**row) for row in rows],
        update_conflicts=True,
        unique_fields=["external_id"],
        update_fields=UPDATE_FIELDS[kind],
    )
    return _ids_by_external_id(model, (row["external_id"] for row in rows))


# Ids of the sellers and products this import wrote or looked up, by external id: a listing
# names them again and again, and a lookup per batch cost more than the listings' own insert.
KnownIds = dict[str, dict[str, int]]
# The tables each kind of row writes (a seller's identifiers too).
ANALYZED_WITH: dict[str, tuple[type, ...]] = {
    "seller": (Seller, SellerIdentifier),
    "product": (Product,),
    "listing": (Listing,),
    "sale": (Sale,),
}


def _resolve(model: type, kind: str, refs: Iterable[str], known: KnownIds) -> dict[str, int]:
    cache = known.setdefault(kind, {})
    wanted = set(refs)
    found = {ref: cache[ref] for ref in wanted if ref in cache}
    missing = wanted - found.keys()
    if missing:
        fetched = _ids_by_external_id(model, missing)
        cache.update(fetched)
        found.update(fetched)
    return found


def listing_reference_errors(
    row: dict[str, Any], *, seller: bool, product: bool, marketplace: bool
) -> dict[str, str]:
    """Why a listing's references do not resolve (empty if they do); both paths word it so."""
    errors = {}
    if not seller:
        errors["seller"] = f"no seller {row['seller']!r} in Touchstone or earlier in the file"
    if not product:
        errors["product"] = f"no product {row['product']!r} in Touchstone or earlier in the file"
    if not marketplace:
        errors["marketplace_country"] = (
            f"required to create marketplace {row['marketplace']!r}, which is new"
        )
    return errors


def sale_reference_errors(row: dict[str, Any]) -> dict[str, str]:
    return {"listing": f"no listing {row['listing']!r} in Touchstone or earlier in the file"}


def ensure_brands(names: set[str]) -> None:
    """Create the brands a catalog names that Touchstone does not know yet (unverified)."""
    known = set(Brand.objects.filter(name__in=names).values_list("name", flat=True))
    missing = names - known
    if missing:
        # Unverified until an analyst verifies its owner.
        Brand.objects.bulk_create([Brand(name=n) for n in sorted(missing)], ignore_conflicts=True)


def ensure_marketplaces(new: dict[str, str]) -> None:
    """Create marketplaces (code -> country) a listing names for the first time."""
    if new:
        Marketplace.objects.bulk_create(
            [
                Marketplace(code=code, name=code, country=country)
                for code, country in sorted(new.items())
            ],
            ignore_conflicts=True,
        )


def _upsert_batch(
    pending: Pending, report: ImportReport, known: KnownIds | None = None
) -> list[BadRow]:
    """Write one batch, sellers and products first; return the rows whose references do not
    resolve (they are not written). Runs inside the batch's transaction.
    """
    known = {} if known is None else known
    bad: list[BadRow] = []
    sellers = pending["seller"]
    if sellers:
        accounts: dict[str, str] = {}
        rows = []
        for external_id, (_, row) in sellers.items():
            account = row.get("payment_account")
            if account:
                accounts[external_id] = account
            rows.append({k: v for k, v in row.items() if k not in SELLER_EXTRAS})
        seller_ids = _upsert(Seller, "seller", rows)
        known.setdefault("seller", {}).update(seller_ids)
        if accounts:
            # Hashed under IDENTITY_HASH_KEY on the way in; the clear value is stored nowhere.
            set_payment_accounts(
                {seller_ids[ext]: raw for ext, raw in accounts.items()}, refresh=False
            )
        # Normalised identifiers and ring groups: owed through the outbox in this transaction,
        # recomputed by the worker after the commit (see the module docstring).
        enqueue_refresh(seller_ids.values())
        report.upserted["seller"] += len(sellers)

    products = pending["product"]
    if products:
        names = {row["brand"] for _, row in products.values()}
        ensure_brands(names)
        brands = dict(Brand.objects.filter(name__in=names).values_list("name", "id"))
        objects = []
        for _, row in products.values():
            values = dict(row)
            values["brand_id"] = brands[values.pop("brand")]
            objects.append(values)
        known.setdefault("product", {}).update(_upsert(Product, "product", objects))
        report.upserted["product"] += len(objects)

    listings = pending["listing"]
    if listings:
        rows = list(listings.values())
        seller_map = _resolve(Seller, "seller", (r["seller"] for _, r in rows), known)
        product_map = _resolve(Product, "product", (r["product"] for _, r in rows), known)
        codes = {r["marketplace"] for _, r in rows}
        markets = dict(Marketplace.objects.filter(code__in=codes).values_list("code", "id"))
        new_markets: dict[str, str] = {}
        for _, r in rows:
            if r["marketplace"] not in markets and r["marketplace_country"]:
                new_markets.setdefault(r["marketplace"], r["marketplace_country"])
        if new_markets:
            ensure_marketplaces(new_markets)
            markets.update(
                Marketplace.objects.filter(code__in=new_markets).values_list("code", "id")
            )
        objects = []
        for line, r in rows:
            errors = listing_reference_errors(
                r,
                seller=r["seller"] in seller_map,
                product=r["product"] in product_map,
                marketplace=r["marketplace"] in markets,
            )
            if errors:
                bad.append(BadRow(line, errors))
                continue
            objects.append(
                {
                    "external_id": r["external_id"],
                    "seller_id": seller_map[r["seller"]],
                    "product_id": product_map[r["product"]],
                    "marketplace_id": markets[r["marketplace"]],
                    "title": r["title"],
                    "url": r["url"],
                    "price": r["price"],
                    "currency": r["currency"],
                    "status": r["status"],
                }
            )
        _upsert(Listing, "listing", objects)
        report.upserted["listing"] += len(objects)

    sales = pending["sale"]
    if sales:
        rows = list(sales.values())
        listing_map = _ids_by_external_id(Listing, (r["listing"] for _, r in rows))
        objects = []
        for line, r in rows:
            if r["listing"] not in listing_map:
                bad.append(BadRow(line, sale_reference_errors(r)))
                continue
            values = dict(r)
            values["listing_id"] = listing_map[values.pop("listing")]
            objects.append(values)
        _upsert(Sale, "sale", objects)
        report.upserted["sale"] += len(objects)
    return bad


# --- the import --------------------------------------------------------------------------------


@dataclass
class PythonBatch:
    """Rows validated in Python (kind -> external id -> (line, clean row)), and the bad ones."""

    pending: Pending = field(default_factory=lambda: {kind: {} for kind in KINDS})
    bad: list[BadRow] = field(default_factory=list)


def _write_batch(batch: Any, report: ImportReport, known: KnownIds) -> list[BadRow]:
    """Validate what is left to validate and write one batch, in the caller's transaction.

    Returns every bad row of the batch that ``report`` has not seen (unreadable, invalid,
    unresolved), in any order.
    """
    if isinstance(batch, PythonBatch):
        return batch.bad + _upsert_batch(batch.pending, report, known)
    from .import_sql import write_chunk

    return write_chunk(batch, report)


def sql_path_available() -> bool:
    """Whether this database takes the set-based path (``listings.import_sql``), whatever the
    file's format."""
    return connection.vendor == "postgresql"


def import_catalog(
    path: Path | str,
    *,
    fmt: str | None = None,
    batch_size: int | None = None,
    restart: bool = False,
    checkpoint_path: Path | None = None,
    progress_every: int = 10_000,
    on_progress: Callable[[str], None] | None = None,
    on_bad_row: Callable[[BadRow], None] | None = None,
    use_sql: bool | None = None,
) -> ImportReport:
    """Import a catalog file; return what was written and which lines were bad.

    Resumes after the checkpoint's line when one exists for this very file (same SHA-256),
    unless ``restart``. Raises ``ValueError`` for a file it cannot read at all (unknown format);
    a database error aborts the batch in hand, leaving the checkpoint at the last good batch.

    ``batch_size`` is lines per transaction (default ``SQL_BATCH_SIZE`` on the set-based path,
    ``DEFAULT_BATCH_SIZE`` otherwise). ``use_sql`` forces the set-based path on or off
    (default: on where ``sql_path_available``); both write the same rows and report the same
    bad rows with the same messages.
    """
    path = Path(path)
    fmt = detect_format(path, fmt)
    sql = sql_path_available() if use_sql is None else use_sql
    if sql and not sql_path_available():
        raise ValueError("The set-based import needs PostgreSQL.")
    if batch_size is None:
        batch_size = SQL_BATCH_SIZE if sql else DEFAULT_BATCH_SIZE
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1.")
    checkpoint = checkpoint_path or default_checkpoint_path(path)
    sha256 = file_sha256(path)
    report = ImportReport()
    skip_to = 0 if restart else read_checkpoint(checkpoint, sha256)
    report.resumed_after_line = skip_to
    started = time.monotonic()
    known: KnownIds = {}
    analyzed: dict[str, int] = {}  # kind -> rows written when its tables were last analyzed
    next_progress = progress_every

    def progress(final: bool = False) -> None:
        nonlocal next_progress
        if on_progress is None:
            return
        if not final:
            if report.lines_read < next_progress:
                return
            while next_progress <= report.lines_read:
                next_progress += progress_every
        elapsed = max(time.monotonic() - started, 1e-9)
        on_progress(
            f"{'done' if final else 'progress'}: line {report.last_line}, "
            f"{report.rows_written} rows written, {report.bad_count} bad, "
            f"{report.rows_written / elapsed:,.0f} rows/s"
        )

    def keep_statistics() -> None:
        # Tables that start empty and grow by a million rows keep their "empty" statistics
        # until autovacuum catches up, and the planner then scans whole tables for lookups
        # (most of a catalog import's database time). ANALYZE each time a kind's rows double.
        if connection.vendor != "postgresql":
            return
        for kind, written in report.upserted.items():
            if written >= max(10_000, 2 * analyzed.get(kind, 0)):
                analyzed[kind] = written
                with connection.cursor() as cursor:
                    for model in ANALYZED_WITH[kind]:
                        cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")

    def commit(batch: Any, last_line: int) -> None:
        with transaction.atomic():
            bad_rows = _write_batch(batch, report, known)
        keep_statistics()
        # A batch's bad rows, found on reading or on writing, are reported in line order once it
        # is committed: after a crash they are reported again by the run that resumes.
        for entry in sorted(bad_rows, key=lambda b: b.line):
            report.add_bad(entry)
            if on_bad_row is not None:
                on_bad_row(entry)
        write_checkpoint(checkpoint, sha256=sha256, line=last_line, source=path)
        report.last_line = last_line
        progress()

    if sql:
        chunks = _csv_sql_chunks if fmt == "csv" else _import_sql_chunks
        last_line = chunks(path, skip_to, batch_size, report, commit)
    else:
        last_line = _import_python_rows(path, fmt, skip_to, batch_size, report, commit)
    report.last_line = max(report.last_line, last_line)
    report.seconds = time.monotonic() - started
    # Finished: the next run of this file is a fresh sync, not a resume.
    checkpoint.unlink(missing_ok=True)
    progress(final=True)
    return report


def _import_sql_chunks(
    path: Path,
    skip_to: int,
    batch_size: int,
    report: ImportReport,
    commit: Callable[[Any, int], None],
) -> int:
    """Hand the file to ``listings.import_sql`` in chunks of ``batch_size`` lines, untouched.

    Lines are split exactly as the Python reader splits them (universal newlines, BOM dropped);
    a chunk with a NUL character or a byte that is not UTF-8 (text PostgreSQL cannot hold) goes
    through Python.
    Returns the last line read.
    """
    from .import_sql import SqlChunk, prepare_session

    prepare_session()
    line = skip_to
    with open_catalog(path) as handle:
        deque(islice(handle, skip_to), maxlen=0)
        while lines := list(islice(handle, batch_size)):
            first = line + 1
            line += len(lines)
            text = "".join(lines)
            if "\x00" in text or UNDECODABLE.search(text) is not None:
                batch = _validate_rows(read_jsonl(io.StringIO(text), first_line=first))
                report.lines_read += sum(1 for entry in lines if entry.strip())
            else:
                batch = SqlChunk(first_line=first, text=text)
            commit(batch, line)
    return line


def _csv_sql_chunks(
    path: Path,
    skip_to: int,
    batch_size: int,
    report: ImportReport,
    commit: Callable[[Any, int], None],
) -> int:
    """A CSV file for ``listings.import_sql``: each record (as the Python path reads it) becomes
    one JSON object line, so both paths see the very same values. Returns the last line read.
    """
    from .import_sql import SqlChunk, prepare_session

    prepare_session()
    last_line = skip_to
    lines: list[str] = []
    numbers: list[int] = []
    bad: list[BadRow] = []
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def send() -> None:
        nonlocal lines, numbers, bad
        text = "\n".join(lines) + "\n" if lines else ""
        commit(SqlChunk(first_line=0, text=text, line_numbers=numbers, bad=bad), last_line)
        lines, numbers, bad = [], [], []

    with open_catalog(path, csv_format=True) as handle:
        for line, raw, unreadable in read_csv(handle):
            if line <= skip_to:
                continue
            last_line = line
            if unreadable is not None:
                bad.append(BadRow(line, {"row": unreadable}))
            else:
                lines.append(dumps(raw))
                numbers.append(line)
            if len(lines) + len(bad) >= batch_size:
                send()
        if lines or bad:
            send()
    return last_line


def _add_row(batch: PythonBatch, line: int, raw: dict[str, Any] | None, why: str | None) -> None:
    if why is not None:
        batch.bad.append(BadRow(line, {"row": why}))
        return
    kind, clean, errors = validate_row(raw)
    if errors:
        batch.bad.append(BadRow(line, errors))
    else:
        # The same external id twice in one batch: the later line wins, as it would if the rows
        # were written one by one.
        batch.pending[kind][clean["external_id"]] = (line, clean)


def _validate_rows(rows: Iterable[Row]) -> PythonBatch:
    batch = PythonBatch()
    for line, raw, unreadable in rows:
        _add_row(batch, line, raw, unreadable)
    return batch


def _import_python_rows(
    path: Path,
    fmt: str,
    skip_to: int,
    batch_size: int,
    report: ImportReport,
    commit: Callable[[Any, int], None],
) -> int:
    """Read, validate and write row by row in Python (not PostgreSQL, or ``use_sql=False``);
    returns the last line."""
    batch = PythonBatch()
    in_batch = 0
    with open_catalog(path, csv_format=fmt == "csv") as handle:
        rows = read_csv(handle) if fmt == "csv" else read_jsonl(handle)
        last_line = skip_to
        for line, raw, unreadable in rows:
            if line <= skip_to:
                continue
            last_line = line
            report.lines_read += 1
            _add_row(batch, line, raw, unreadable)
            in_batch += 1
            if in_batch >= batch_size:
                commit(batch, line)
                batch, in_batch = PythonBatch(), 0
        if in_batch:
            commit(batch, last_line)
    return last_line
