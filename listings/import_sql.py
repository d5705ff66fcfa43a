"""The catalog import's set-based path on PostgreSQL: raw lines in by COPY, rows checked in SQL.

Per chunk of lines (one transaction, see ``listings.importer.import_catalog``):

1. The lines go into a temporary table by ``COPY`` as they are (text format, backslashes and tabs
   escaped), numbered in file order; nothing is parsed in Python. (A CSV file's records arrive
   already read by the csv module, one JSON object a line, with their line numbers.)
2. PostgreSQL casts the whole chunk to ``jsonb`` (a chunk with a line that is not JSON is cast
   again row by row, that line becoming NULL) and sorts the rows by kind.
3. For each kind one ``INSERT … SELECT`` keeps the rows whose every value the SQL form of its
   column's rule accepts (``_accepted`` below), already converted, in a typed staging table.
4. Every other line — not JSON, not an object, a value of an unusual shape, a bad value — is
   handed to ``listings.importer.validate_row``, the one authority on what a row means: a bad
   row is reported with its line and that function's message, a good one joins its kind's
   staging table. The SQL rules only ever accept a subset of what ``validate_row`` accepts, and
   convert it to the same value (``tests/listings/test_import_paths.py`` runs the same rows
   through both paths).
5. Sellers, products, listings and sales are upserted in that order, one
   ``INSERT … SELECT … ON CONFLICT (external_id) DO UPDATE`` each, the later line winning for an
   external id named twice; references resolve by joins, and the rows that do not resolve are
   reported with the Python path's messages.

Sellers' payment accounts are hashed in Python (``set_payment_accounts``), only for the rows that
carry one; their identifiers and ring groups are owed to the worker through the outbox
(``sellers.identity.enqueue_refresh``). The raw lines, payment accounts included, live only in
the transaction's temporary tables (session-private, not WAL-logged, dropped at commit).
"""

import io
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db import DatabaseError, DataError, connection, transaction
from psycopg2.extras import execute_values

from counterfeits.models import Brand
from sellers.identity import JUNK, enqueue_refresh, set_payment_accounts
from sellers.models import Seller

from .importer import (
    ALIASES,
    KINDS,
    SCHEMAS,
    SELLER_EXTRAS,
    UPDATE_FIELDS,
    BadRow,
    Column,
    ImportReport,
    _defaults_for,
    ensure_brands,
    ensure_marketplaces,
    listing_reference_errors,
    parse_jsonl_line,
    sale_reference_errors,
    validate_row,
)
from .models import Listing, Marketplace, Product, Sale

# What Python's str.strip() strips (tests/listings/test_import_paths.py checks it still is).
PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

MODELS = {"seller": Seller, "product": Product, "listing": Listing, "sale": Sale}

# Conservative forms: each matches only values the column's Python parser accepts unchanged
# (after str.strip()). Anything else is not rejected here: it goes to validate_row.
# An address of at most 64 characters: then no domain label can exceed 63 (Django's limit), and
# the pattern needs no bounded repetition, which costs PostgreSQL's regex engine ~20 µs a row.
_EMAIL_MAX = 64
_EMAIL = (
    r"^[-!#$%&'*+/=?^_`{}|~0-9A-Za-z]+(\.[-!#$%&'*+/=?^_`{}|~0-9A-Za-z]+)*"
    r"@([A-Za-z0-9]+(-+[A-Za-z0-9]+)*\.)+[A-Za-z][A-Za-z]+$"
)
_URL = r"^https?://[A-Za-z0-9.-]+(:[0-9]+)?([/?#][!-~]*)?$"
_PRICE = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"
_DATETIME = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9]"
    r"(:[0-5][0-9](\.[0-9]{1,6})?)?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])?$"
)
# A number written with an exponent: json.loads makes it a float, jsonb an exact number.
_EXPONENT = r"[0-9][eE][-+]?[0-9]"
_UPPER, _LOWER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"

SQL_TYPES = {
    "price": "numeric",
    "positive_int": "bigint",
    "bool": "boolean",
    "datetime": "timestamptz",
}


@dataclass(frozen=True)
class SqlChunk:
    """Lines ``first_line``… of the file, as read (newline-terminated), not yet parsed.

    A CSV file's records arrive as one JSON object a line, with ``line_numbers`` (where each
    record starts in the file) and ``bad`` (records the csv reader could not use).
    """

    first_line: int
    text: str
    line_numbers: list[int] | None = None
    bad: list[BadRow] = field(default_factory=list)

    def line(self, n: int) -> int:
        """The file line of the chunk's ``n``-th line (1-based)."""
        if self.line_numbers is not None:
            return self.line_numbers[n - 1]
        return self.first_line - 1 + n


@cache
def _lit(value: str) -> str:
    """A string as an SQL literal (our own constants: quotes doubled, no backslash escapes)."""
    if "\x00" in value:
        raise ValueError("NUL in an SQL literal")
    return "'" + value.replace("'", "''") + "'"


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _ascii_lower(expr: str) -> str:
    # translate, not lower(): lower() follows the database's locale (Turkish I, Kelvin sign).
    return f"translate({expr}, {_lit(_UPPER)}, {_lit(_LOWER)})"


def _ascii_upper(expr: str) -> str:
    return f"translate({expr}, {_lit(_LOWER)}, {_lit(_UPPER)})"


def _strip(expr: str) -> str:
    return f"btrim({expr}, {_lit(PY_WHITESPACE)})"


def _accepted(column: Column, t: str) -> str:
    """SQL true only if ``column.parse`` accepts the stripped text ``t`` as it is."""
    shape, limit = column.shape, column.max_length
    length = f"char_length({t}) <= {limit}" if limit else "true"
    if shape == "text":
        return length
    if shape == "email":
        return f"(char_length({t}) <= {_EMAIL_MAX} AND {t} ~ {_lit(_EMAIL)})"
    if shape == "country":
        return f"{t} ~ '^[A-Za-z]{{2}}$'"
    if shape == "currency":
        return f"{t} ~ '^[A-Za-z]{{3}}$'"
    if shape == "url":
        return f"({length} AND {t} ~ {_lit(_URL)})"
    if shape == "price":
        return f"{t} ~ {_lit(_PRICE)}"
    if shape == "positive_int":
        return f"CASE WHEN {t} ~ '^[0-9]{{1,10}}$' THEN {t}::bigint BETWEEN 1 AND 2147483647 END"
    if shape == "gtin":
        return f"{t} ~ '^([0-9]{{8}}|[0-9]{{12,14}})$'"
    if shape == "status":
        from .choices import ListingStatus

        values = ", ".join(_lit(v) for v in ListingStatus.values)
        return f"({t} ~ '^[A-Za-z_]+$' AND {_ascii_lower(t)} IN ({values}))"
    if shape == "bool":
        words = ", ".join(
            _lit(w) for w in ("1", "true", "yes", "y", "t", "0", "false", "no", "n", "f")
        )
        return f"{_ascii_lower(t)} IN ({words})"
    if shape == "datetime":
        # The shape, then a day that exists in its month (a cast would raise for 2026-02-30).
        y, m, d = f"substr({t}, 1, 4)::int", f"substr({t}, 6, 2)::int", f"substr({t}, 9, 2)::int"
        return (
            f"CASE WHEN {t} ~ {_lit(_DATETIME)} AND {y} > 0 THEN "
            f"extract(month FROM make_date({y}, {m}, 1) + ({d} - 1)) = {m} END"
        )
    if shape == "payment_account":
        code = f"regexp_replace({_ascii_upper(t)}, '[^0-9A-Z]', '', 'g')"
        junk = ", ".join(_lit(j) for j in sorted(JUNK))
        return (
            f"CASE WHEN {length} AND {t} ~ '^[ -~]+$' THEN "
            f"char_length({code}) >= 6 AND {code} NOT IN ({junk}) END"
        )
    raise ValueError(f"no SQL form for column shape {shape!r}")


def _converted(column: Column, t: str) -> str:
    """The value ``column.parse`` returns for an accepted ``t``."""
    shape = column.shape
    if shape in ("country", "currency"):
        return _ascii_upper(t)
    if shape == "status":
        return _ascii_lower(t)
    if shape == "price":
        return f"{t}::numeric"
    if shape == "positive_int":
        return f"{t}::bigint"
    if shape == "bool":
        # t is the text of a string, or 'true' / 'false' for a JSON boolean.
        truthy = ", ".join(_lit(w) for w in ("1", "true", "yes", "y", "t"))
        return f"{_ascii_lower(t)} IN ({truthy})"
    if shape == "datetime":
        # No offset: UTC, as _datetime takes it.
        return (
            f"CASE WHEN {t} ~ '(Z|[+-][0-9:]{{5}})$' THEN {t}::timestamptz "
            f"ELSE {t}::timestamp AT TIME ZONE 'UTC' END"
        )
    return t


def _default(column: Column) -> str:
    default = column.default
    if default is None or column.required:  # a required column's blank is never written
        return "NULL"
    if isinstance(default, bool):
        return "true" if default else "false"
    return _lit(str(default))


def _keys(kind: str) -> dict[str, list[str]]:
    """Per column of ``kind``: the keys a row may name it by (its own name, then aliases)."""
    keys = {name: [name] for name in SCHEMAS[kind]}
    for alias, name in ALIASES[kind].items():
        keys[name].append(alias)
    return keys


def _stage_columns(kind: str) -> list[tuple[str, str]]:
    return [(name, SQL_TYPES.get(column.shape, "text")) for name, column in SCHEMAS[kind].items()]


# Shapes whose SQL form (an anchored pattern) matches no JSON number, boolean, object or array
# written out by jsonb, except amounts, which mean the same amount either way: their value is
# taken as text unstripped (a value with spaces around it is left to Python).
_PATTERN_SHAPES = {"email", "country", "currency", "url", "price", "status", "datetime"}


@cache
def _select_kind_sql(kind: str) -> str:
    """INSERT the rows of ``kind`` that SQL accepts whole into ``import_<kind>``, converted."""
    fields = SCHEMAS[kind]
    keys = _keys(kind)
    inner, checks, outputs = [], [], []
    for i, (name, column) in enumerate(fields.items()):
        sources = keys[name]
        value = f"j -> {_lit(sources[0])}"
        text = f"j ->> {_lit(sources[0])}"
        if len(sources) > 1:
            # Several names for one column: validate_row takes the first non-blank one in the
            # line's order, which jsonb does not keep. So SQL takes the column only when at most
            # one name has a value that is not '' (a CSV row has every column); else Python.
            filled = [f"(j ->> {_lit(k)}) <> ''" for k in sources]
            checks.append(f"({' + '.join(f'coalesce({f}, false)::int' for f in filled)}) <= 1")
            value = (
                "coalesce("
                + ", ".join(
                    f"CASE WHEN {f} THEN j -> {_lit(k)} END"
                    for f, k in zip(filled, sources, strict=True)
                )
                + ", "
                + ", ".join(f"j -> {_lit(k)}" for k in sources)
                + ")"
            )
            text = f"({value} #>> '{{}}')"
        s, t = f"s{i}", f"t{i}"
        if column.shape in _PATTERN_SHAPES:
            inner.append(f"{text} AS {s}")
            t = s
        else:
            # str(value) as the parser sees it, stripped: a string; an integer (json.loads
            # makes it an int) unless written with an exponent (json.loads: a float); a
            # boolean only where the column is one. Anything else: NULL, left to Python.
            bool_ok = f"WHEN 'boolean' THEN {text}" if column.shape == "bool" else ""
            inner.append(
                f"{text} AS {s}, CASE jsonb_typeof({value}) "
                f"WHEN 'string' THEN {_strip(text)} "
                f"WHEN 'number' THEN CASE WHEN {text} ~ '^-?[0-9]+$' "
                f"AND line !~ {_lit(_EXPONENT)} THEN {text} END "
                f"{bool_ok} END AS {t}"
            )
        # Absent or null, or (after the strip) empty; whitespace-only text under a pattern
        # column is not matched here and goes to Python, which calls it blank.
        blank = f"({s} IS NULL OR {t} = '')"
        accepted = _accepted(column, t)
        if column.required:
            checks.append(f"NOT {blank} AND {accepted}")
        else:
            checks.append(f"({blank} OR {accepted})")
        converted = _converted(column, t)
        outputs.append(f"CASE WHEN {blank} THEN {_default(column)} ELSE {converted} END")
    names = ", ".join(_quote(n) for n in fields)
    # OFFSET 0 keeps the inner select a subquery: each value is extracted once per row.
    return (
        f"INSERT INTO import_{kind} (n, {names}) "  # noqa: S608 - our own names
        f"SELECT n, {', '.join(outputs)} FROM ("
        f"SELECT n, j, {', '.join(inner)} FROM import_json "
        f"WHERE kind = {_lit(kind)} OFFSET 0) c "
        f"WHERE {' AND '.join(checks)}"
    )


@cache
def _kind_sql() -> str:
    # The spellings every exporter uses; any other (" Sellers", "LISTING", a number) is left
    # to validate_row.
    cases = " ".join(
        f"WHEN {_lit(spelling)} THEN {_lit(kind)}"
        for kind in KINDS
        for spelling in (kind, kind + "s")
    )
    return f"CASE CASE WHEN j ? 'type' THEN j ->> 'type' ELSE j ->> 'kind' END {cases} END"


STAGE_TABLES = (
    "import_raw",
    "import_json",
    "import_listing_r",
    *(f"import_{kind}" for kind in KINDS),
    *(f"import_{kind}_u" for kind in KINDS),
)


def _drop_stage(cursor: Any) -> None:
    # Dropped at commit anyway; dropped here too for a chunk inside an outer transaction.
    cursor.execute(f"DROP TABLE IF EXISTS {', '.join(STAGE_TABLES)}")


def _create_stage(cursor: Any) -> None:
    _drop_stage(cursor)
    cursor.execute(
        "CREATE TEMPORARY TABLE import_raw (n bigint GENERATED ALWAYS AS IDENTITY, line text) "
        "ON COMMIT DROP"
    )
    for kind in KINDS:
        columns = ", ".join(f"{_quote(n)} {t}" for n, t in _stage_columns(kind))
        cursor.execute(f"CREATE TEMPORARY TABLE import_{kind} (n bigint, {columns}) ON COMMIT DROP")


def _parse_json(cursor: Any) -> None:
    """import_json(n, line, j, kind): the chunk's non-blank lines, cast to jsonb."""
    select = (
        "CREATE TEMPORARY TABLE import_json ON COMMIT DROP AS "  # noqa: S608 - our own names
        f"SELECT n, line, j, {_kind_sql()} AS kind FROM ("
        "SELECT n, line, {cast} AS j FROM import_raw "
        f"WHERE left(line, 1) = '{{' OR {_strip('line')} <> '' OFFSET 0) x"
    )
    try:
        with transaction.atomic():
            cursor.execute(select.replace("{cast}", "line::jsonb"))
    except DataError:
        # Some line is not JSON (jsonb says which only by failing): cast row by row, that line
        # NULL. Only chunks with such a line pay for the exception blocks.
        cursor.execute(
            "CREATE OR REPLACE FUNCTION pg_temp.import_try_jsonb(t text) RETURNS jsonb "
            "LANGUAGE plpgsql IMMUTABLE AS "
            "$$ BEGIN RETURN t::jsonb; EXCEPTION WHEN others THEN RETURN NULL; END $$"
        )
        cursor.execute(select.replace("{cast}", "pg_temp.import_try_jsonb(line)"))


def _recheck_in_python(cursor: Any, chunk: SqlChunk, report: ImportReport) -> list[BadRow]:
    """Lines SQL did not accept: validate_row decides; good ones join their staging table."""
    accepted = " UNION ALL ".join(f"SELECT n FROM import_{kind}" for kind in KINDS)  # noqa: S608 - our own names
    cursor.execute(
        f"SELECT n, line FROM import_json WHERE n NOT IN ({accepted}) ORDER BY n"  # noqa: S608
    )
    bad: list[BadRow] = []
    good: dict[str, list[tuple[int, dict[str, Any]]]] = {kind: [] for kind in KINDS}
    rows = cursor.fetchall()
    report.checked_in_python += len(rows)
    for n, line in rows:
        number = chunk.line(n)
        raw, unreadable = parse_jsonl_line(line)
        if raw is None:
            bad.append(BadRow(number, {"row": unreadable}))
            continue
        kind, clean, errors = validate_row(raw)
        if errors:
            bad.append(BadRow(number, errors))
        else:
            good[kind].append((n, clean))
    for kind, entries in good.items():
        if entries:
            names = list(SCHEMAS[kind])
            # One statement a thousand rows (many lines may have an unusual shape).
            execute_values(
                cursor.cursor,
                f"INSERT INTO import_{kind} (n, {', '.join(_quote(c) for c in names)}) "  # noqa: S608
                "VALUES %s",
                [[n, *(clean[c] for c in names)] for n, clean in entries],
                page_size=1000,
            )
    return bad


def _dedupe(cursor: Any, kind: str) -> None:
    """import_<kind>_u: the chunk's rows of a kind, the later line winning for an external id."""
    cursor.execute(
        f"CREATE TEMPORARY TABLE import_{kind}_u ON COMMIT DROP AS "  # noqa: S608
        f"SELECT DISTINCT ON (external_id) * FROM import_{kind} ORDER BY external_id, n DESC"
    )


def _upsert_sql(kind: str, columns: dict[str, str], source: str) -> tuple[str, list[Any]]:
    """INSERT … SELECT … ON CONFLICT for ``kind``: ``columns`` maps table column -> expression."""
    model = MODELS[kind]
    extras = _defaults_for(model, set(columns))
    names = [*columns, *extras]
    updates = ", ".join(
        f"{_quote(c)} = EXCLUDED.{_quote(c)}"
        for c in (model._meta.get_field(f).column for f in UPDATE_FIELDS[kind])
    )
    select = ", ".join([*columns.values(), *("%s" for _ in extras)])
    sql = (
        f"INSERT INTO {_quote(model._meta.db_table)} ({', '.join(_quote(c) for c in names)}) "  # noqa: S608 - our own names
        f"SELECT {select} FROM {source} "  # noqa: S608 - our own names
        f"ON CONFLICT (external_id) DO UPDATE SET {updates}"
    )
    return sql, list(extras.values())


def _write_sellers(cursor: Any, report: ImportReport) -> None:
    _dedupe(cursor, "seller")
    columns = {name: f"u.{_quote(name)}" for name in SCHEMAS["seller"] if name not in SELLER_EXTRAS}
    upsert, params = _upsert_sql("seller", columns, "import_seller_u u")
    cursor.execute(f"{upsert} RETURNING id", params)
    ids = [row[0] for row in cursor.fetchall()]
    enqueue_refresh(ids)  # the sellers' identifiers and rings, owed to the worker
    report.upserted["seller"] += len(ids)
    cursor.execute(
        "SELECT s.id, u.payment_account FROM import_seller_u u "  # noqa: S608 - our own names
        f"JOIN {_quote(Seller._meta.db_table)} s ON s.external_id = u.external_id "  # noqa: S608
        "WHERE u.payment_account IS NOT NULL"
    )
    accounts = dict(cursor.fetchall())
    if accounts:
        # Hashed under IDENTITY_HASH_KEY on the way in; the clear value is stored nowhere.
        set_payment_accounts(accounts, refresh=False)


def _write_products(cursor: Any, report: ImportReport) -> None:
    _dedupe(cursor, "product")
    cursor.execute("SELECT DISTINCT brand FROM import_product_u")
    ensure_brands({row[0] for row in cursor.fetchall()})
    columns = {
        "external_id": "u.external_id",
        "brand_id": "b.id",
        "title": "u.title",
        "gtin": "u.gtin",
        "safety_risk": "u.safety_risk",
    }
    source = f"import_product_u u JOIN {_quote(Brand._meta.db_table)} b ON b.name = u.brand"
    upsert, params = _upsert_sql("product", columns, source)
    cursor.execute(upsert, params)
    report.upserted["product"] += cursor.rowcount


def _write_listings(cursor: Any, chunk: SqlChunk, report: ImportReport) -> list[BadRow]:
    _dedupe(cursor, "listing")
    markets = _quote(Marketplace._meta.db_table)
    cursor.execute(
        "SELECT DISTINCT ON (marketplace) marketplace, marketplace_country FROM import_listing_u "  # noqa: S608 - our own names
        "WHERE marketplace_country IS NOT NULL "
        f"AND marketplace NOT IN (SELECT code FROM {markets}) "
        "ORDER BY marketplace, n"
    )
    ensure_marketplaces(dict(cursor.fetchall()))
    cursor.execute(
        "CREATE TEMPORARY TABLE import_listing_r ON COMMIT DROP AS "  # noqa: S608 - our own names
        "SELECT u.*, s.id AS seller_id, p.id AS product_id, m.id AS marketplace_id "
        "FROM import_listing_u u "
        f"LEFT JOIN {_quote(Seller._meta.db_table)} s ON s.external_id = u.seller "  # noqa: S608
        f"LEFT JOIN {_quote(Product._meta.db_table)} p ON p.external_id = u.product "
        f"LEFT JOIN {markets} m ON m.code = u.marketplace"
    )
    cursor.execute(
        "SELECT n, seller, product, marketplace, seller_id IS NOT NULL, product_id IS NOT NULL, "
        "marketplace_id IS NOT NULL FROM import_listing_r "
        "WHERE seller_id IS NULL OR product_id IS NULL OR marketplace_id IS NULL"
    )
    rows = cursor.fetchall()
    bad = [
        BadRow(
            chunk.line(n),
            listing_reference_errors(
                {"seller": seller, "product": product, "marketplace": marketplace},
                seller=has_seller,
                product=has_product,
                marketplace=has_market,
            ),
        )
        for n, seller, product, marketplace, has_seller, has_product, has_market in rows
    ]
    columns = {
        "external_id": "external_id",
        "seller_id": "seller_id",
        "product_id": "product_id",
        "marketplace_id": "marketplace_id",
        "title": "title",
        "url": "url",
        "price": "price",
        "currency": "currency",
        "status": "status",
    }
    source = (
        "import_listing_r WHERE seller_id IS NOT NULL AND product_id IS NOT NULL "
        "AND marketplace_id IS NOT NULL"
    )
    upsert, params = _upsert_sql("listing", columns, source)
    cursor.execute(upsert, params)
    report.upserted["listing"] += cursor.rowcount
    return bad


def _write_sales(cursor: Any, chunk: SqlChunk, report: ImportReport) -> list[BadRow]:
    _dedupe(cursor, "sale")
    listings = _quote(Listing._meta.db_table)
    cursor.execute(
        f"SELECT u.n, u.listing FROM import_sale_u u WHERE NOT EXISTS "  # noqa: S608
        f"(SELECT 1 FROM {listings} l WHERE l.external_id = u.listing)"
    )
    bad = [
        BadRow(chunk.line(n), sale_reference_errors({"listing": ref}))
        for n, ref in cursor.fetchall()
    ]
    columns = {
        "external_id": "u.external_id",
        "listing_id": "l.id",
        "units": "u.units",
        "customer_country": "u.customer_country",
        "sold_at": "u.sold_at",
    }
    source = f"import_sale_u u JOIN {listings} l ON l.external_id = u.listing"
    upsert, params = _upsert_sql("sale", columns, source)
    cursor.execute(upsert, params)
    report.upserted["sale"] += cursor.rowcount
    return bad


def _has(cursor: Any, kind: str) -> bool:
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM import_{kind})")  # noqa: S608
    return cursor.fetchone()[0]


def prepare_session() -> None:
    """Room for a chunk's staging tables in memory (temp_buffers, default 8 MB): set for the
    session if it has not used temporary tables yet (PostgreSQL refuses afterwards)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET temp_buffers = '256MB'")
    except DatabaseError:
        pass


def write_chunk(chunk: SqlChunk, report: ImportReport) -> list[BadRow]:
    """Validate and write one chunk of lines; return its bad rows. In the caller's transaction."""
    # COPY's text format: a backslash escapes, a tab separates columns; every other character
    # (newlines excepted: they end lines, as they do for the Python reader) stands for itself.
    data = chunk.text.replace("\\", "\\\\").replace("\t", "\\t")
    with connection.cursor() as cursor:
        _create_stage(cursor)
        cursor.cursor.copy_expert(
            "COPY import_raw (line) FROM STDIN", io.StringIO(data), size=1 << 20
        )
        _parse_json(cursor)
        cursor.execute("SELECT count(*) FROM import_json")
        report.lines_read += cursor.fetchone()[0] + len(chunk.bad)
        for kind in KINDS:
            cursor.execute(_select_kind_sql(kind))
        bad = chunk.bad + _recheck_in_python(cursor, chunk, report)
        if _has(cursor, "seller"):
            _write_sellers(cursor, report)
        if _has(cursor, "product"):
            _write_products(cursor, report)
        if _has(cursor, "listing"):
            bad += _write_listings(cursor, chunk, report)
        if _has(cursor, "sale"):
            bad += _write_sales(cursor, chunk, report)
        _drop_stage(cursor)
    return bad
