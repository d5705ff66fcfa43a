"""The catalog import's two paths — set-based SQL (PostgreSQL) and row by row in Python (SQLite,
CSV) — accept the same rows, write the same values and report the same bad rows and messages."""

import csv
import io
import json
import sys
from pathlib import Path

import pytest
from django.db import connection, transaction

from listings.import_sql import PY_WHITESPACE
from listings.importer import import_catalog
from listings.models import Listing, Marketplace, Product, Sale
from sellers.models import Seller, SellerIdentifier
from tests.factories import ListingFactory, SellerFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL path is PostgreSQL's"),
]

SELLER = {"type": "seller", "name": "Ada", "email": "ada@shop.example", "country": "DE"}
PRODUCT = {"type": "product", "brand": "Acme", "title": "Earbuds"}
LISTING = {
    "type": "listing",
    "seller": "S1",
    "product": "P1",
    "marketplace": "de",
    "marketplace_country": "DE",
    "title": "Earbuds",
    "price": "19.99",
}
SALE = {"type": "sale", "listing": "L1", "units": 2, "customer_country": "FR"}
SALE["sold_at"] = "2026-01-31T14:05:00Z"


def seller(n: int, **changes: object) -> dict:
    return {**SELLER, "external_id": f"S{n}", **changes}


def product(n: int, **changes: object) -> dict:
    return {**PRODUCT, "external_id": f"P{n}", **changes}


def listing(n: int, **changes: object) -> dict:
    return {**LISTING, "external_id": f"L{n}", **changes}


def sale(n: int, **changes: object) -> dict:
    return {**SALE, "external_id": f"O{n}", **changes}


# Good rows in the usual shapes, good rows in unusual ones, and bad rows of every rule.
LINES: list[object] = [
    seller(1, phone="+49 151 1000001", payment_account="DE89 3704 0044 0532 0130 00"),
    seller(2, country="de", name="  Bob  ", email=" bob@shop.example "),
    seller(3, type="Sellers", email="c.d+tag@Sub.Example.COM", company_name="\u00a0C GmbH\u3000"),
    {**seller(4), "seller_id": "S4b"},  # two names for the id: the first non-blank wins
    {**seller(5), "id": "  "},  # a blank alias next to the real id
    seller(6, kind="product"),  # type wins over kind
    {"kind": "seller", **seller(7), "type": None},  # type present but null
    seller(8, email="名前@例え.jp"),
    seller(9, email="ada@localhost"),
    seller(10, email="not-an-address"),
    seller(11, country="DEU"),
    seller(12, country="D\u0130"),
    seller(13, name="x" * 201),
    seller(14, payment_account="n/a"),
    seller(15, payment_account="unknown"),
    seller(16, payment_account="AB-12-cd-34"),
    seller(17, payment_account=123456),
    seller(18, name=42),
    seller(19, name=True),
    seller(20, name={"first": "Ada"}),
    seller(21, external_id=1234),
    seller(22, name=1.50),
    seller(23, tax_id=None, phone=""),
    seller(24, email="a@b.c"),
    seller(25, email="a@my-shop.example"),
    seller(26, email="a@-shop.example"),
    seller(27, email="a..b@shop.example"),
    seller(28, email=".a@shop.example"),
    seller(29, email="a@shop..example"),
    seller(30, email="a@shop.123"),
    seller(31, email=f"a@{'x' * 64}.example"),
    seller(32, email=f"{'a' * 60}@shop.example"),
    seller(33, email="a@b@shop.example"),
    seller(34, email="a@shop.example."),
    seller(35, email="A_B-C@SHOP-1.EXAMPLE"),
    seller(1, name="Ada again"),  # the later line wins
    product(1),
    product(2, gtin="40063813", safety_risk="YES"),
    product(3, gtin=4006381333931, safety_risk=True),
    product(4, gtin="4006381333", safety_risk="maybe"),
    product(5, gtin="４００６３８１３", safety_risk=1),
    product(6, safety_risk="  f "),
    product(7, brand=""),
    listing(1),
    listing(2, price=19.5, currency="eur", status="DELISTED", url="https://de.shop.example/i/2"),
    listing(3, price="1e2", url="http://[::1]/x"),
    listing(4, price="19.999"),
    listing(5, price="-1"),
    listing(6, price="10000000000"),
    listing(7, price=" 7.5 ", url="https://shop.example/a b"),
    listing(8, price="NaN"),
    listing(9, url="ftp://shop.example/x", currency="EURO"),
    listing(10, seller="S404", product="P404"),
    listing(11, marketplace="jp", marketplace_country=None),
    listing(12, marketplace="fr", country="fr"),
    listing(13, status="gone", url="https://ünicode.example/x"),
    listing(14, price=1e2),
    listing(15, price="1_000"),
    {**listing(16, marketplace="it", marketplace_country=" "), "country": "IT"},
    {**listing(17, marketplace="es"), "country": "es", "marketplace_country": "ES"},
    {**listing(18, marketplace="nl", marketplace_country="NL"), "country": None, "id": ""},
    sale(1),
    sale(2, units="3", sold_at="2026-01-31 14:05"),
    sale(3, units=0, sold_at="2026-02-30T10:00:00Z"),
    sale(4, units=2.0, sold_at="2026-01-31T14:05:00+05:30"),
    sale(5, units="2147483648", sold_at="2026-01-31T14:05:00.1234567"),
    sale(6, units=True, sold_at="31/01/2026"),
    sale(7, listing="L404"),
    sale(8, sold_at="2026-01-31T24:00:00"),
    sale(9, sold_at="2026-01-31"),
    sale(10, sold_at="0000-01-01T00:00:00"),
    sale(11, sold_at="2026-01-31T14:05:00+14:00"),
    {"type": "refund", "external_id": "R1"},
    {"external_id": "X1"},
    {"type": 5, "external_id": "X2"},
    ["seller", "S99"],
    "just text",
]
RAW_LINES = [
    "",
    "   ",
    "\u00a0",
    "{not json",
    '{"type": "seller", "external_id": "S50", "name": "N", "email": "n@shop.example", '
    '"country": "DE", "company_name": NaN}',
    '{"type": "sale", "external_id": "O50", "listing": "L1", "units": 5e0, '
    '"customer_country": "FR", "sold_at": "2026-01-31T14:05:00Z"}',
    '{"type": "sale", "external_id": "O51", "listing": "L1", "units": 5, '
    '"customer_country": "FR", "sold_at": "2026-01-31T14:05:00Z"}',
    '{"type": "seller", "external_id": "S51", "name": "Tab\\tbed \\\\ back", '
    '"email": "t@shop.example", "country": "DE"}\t',
    '{"type": "product", "external_id": "P50", "brand": "Acme", "title": "T", "gtin": 1.2345678e7}',
]


def write(path: Path) -> Path:
    if path.suffix == ".csv":
        # The same rows as CSV text (every value a string, every column in every row), plus a
        # record with more fields than the header, a blank one and one spanning two lines.
        rows = [row for row in LINES if isinstance(row, dict)]
        columns = list(dict.fromkeys(key for row in rows for key in row))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        buffer.write("seller,S60,too,many,fields" + "," * len(columns) + "\n")
        buffer.write("," * (len(columns) - 1) + "\n")
        spanning = {**seller(61, name="Two\nlines"), "type": "seller"}
        csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n").writerow(spanning)
        writer.writerow(seller(62))
        path.write_text(buffer.getvalue(), encoding="utf-8")
        return path
    lines = [json.dumps(row) for row in LINES] + RAW_LINES
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def snapshot() -> dict[str, list]:
    """Everything the import writes, by external id (ids differ between runs)."""
    return {
        "sellers": list(
            Seller.objects.order_by("external_id").values_list(
                "external_id",
                "name",
                "email",
                "country",
                "company_name",
                "phone",
                "tax_id",
                "status",
            )
        ),
        "payment": sorted(
            SellerIdentifier.objects.filter(kind="payment").values_list(
                "seller__external_id", "value"
            )
        ),
        "products": list(
            Product.objects.order_by("external_id").values_list(
                "external_id", "brand__name", "title", "gtin", "safety_risk"
            )
        ),
        "listings": list(
            Listing.objects.order_by("external_id").values_list(
                "external_id",
                "seller__external_id",
                "product__external_id",
                "marketplace__code",
                "title",
                "url",
                "price",
                "currency",
                "status",
            )
        ),
        "sales": list(
            Sale.objects.order_by("external_id").values_list(
                "external_id", "listing__external_id", "units", "customer_country", "sold_at"
            )
        ),
        "marketplaces": list(Marketplace.objects.order_by("code").values_list("code", "country")),
    }


class Rollback(Exception):
    pass


def run(path: Path, *, use_sql: bool, batch_size: int) -> tuple[dict, list, dict, dict]:
    """Import on top of the same existing rows; return what it wrote and reported, undone."""
    result = {}
    try:
        with transaction.atomic():
            report = import_catalog(path, use_sql=use_sql, batch_size=batch_size, restart=True)
            result["state"] = snapshot()
            result["bad"] = [(bad.line, bad.errors) for bad in report.bad_rows]
            result["upserted"] = report.upserted
            result["report"] = {
                "lines_read": report.lines_read,
                "bad_count": report.bad_count,
                "last_line": report.last_line,
                "checked_in_python": report.checked_in_python,
            }
            raise Rollback
    except Rollback:
        pass
    return result["state"], result["bad"], result["upserted"], result["report"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@pytest.mark.parametrize("batch_size", [1000, 7])
def test_both_paths_write_and_report_the_same(tmp_path, batch_size, fmt):
    # given one file of good rows, unusual-but-good rows and bad rows of every rule
    # (on top of rows already there: a listing it updates, a seller whose fields it blanks)
    path = write(tmp_path / f"catalog.{fmt}")
    ListingFactory(external_id="L1", title="old")
    SellerFactory(external_id="S23", tax_id="DE123", phone="+49 151 5")

    # when it is imported by the SQL path and, from the same start, by the Python path
    sql_state, sql_bad, sql_upserted, sql_report = run(path, use_sql=True, batch_size=batch_size)
    py_state, py_bad, py_upserted, py_report = run(path, use_sql=False, batch_size=batch_size)

    # then the same rows land with the same values, and the same lines are bad, worded the same
    assert sql_state == py_state
    assert sql_bad == py_bad
    assert sql_upserted == py_upserted
    assert {**sql_report, "checked_in_python": 0} == {**py_report, "checked_in_python": 0}
    # and the file exercised both: rows written, rows refused, rows SQL left to Python
    assert len(sql_bad) > 25
    assert all(sql_state[table] for table in ("sellers", "products", "listings", "sales"))
    assert 0 < sql_report["checked_in_python"] < sql_report["lines_read"]


def test_rows_in_the_usual_shapes_never_reach_python(tmp_path):
    # given rows as marketplaces export them
    rows = [seller(1), seller(2, country="de"), product(1), listing(1), listing(2, price=5)]
    rows += [sale(1), sale(2, units="7")]
    path = tmp_path / "catalog.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")

    # when the SQL path imports them, then SQL accepted every one of them
    report = import_catalog(path, use_sql=True)
    assert report.bad_count == 0
    assert report.checked_in_python == 0
    assert report.rows_written == len(rows)


def test_the_sql_strip_is_pythons():
    # the characters str.strip() removes are the ones the SQL path strips
    whitespace = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    assert PY_WHITESPACE == whitespace
    assert all(not ch.strip() for ch in PY_WHITESPACE)


@pytest.mark.parametrize(
    "poison",
    [b"\xff\xfe not UTF-8\n", b'{"type": "seller", "external_id": "S9", "name": "N\\u0000"}\n'],
    ids=["not-utf8", "nul-escape"],
)
def test_both_paths_agree_on_text_postgresql_cannot_take(tmp_path, poison):
    # given a file with good rows around a line PostgreSQL's COPY or jsonb refuses
    good = [json.dumps(row).encode() + b"\n" for row in (seller(1), product(1), listing(1))]
    path = tmp_path / "catalog.jsonl"
    path.write_bytes(good[0] + good[1] + poison + good[2] + b"\x00\n")

    # when / then both paths do the same with it (the SQL path hands such text to Python),
    # and neither fails
    outcomes = []
    for use_sql in (True, False):
        state, bad, upserted, report = run(path, use_sql=use_sql, batch_size=2)
        outcomes.append((state, bad, upserted, {**report, "checked_in_python": 0}))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("use_sql", [True, False], ids=["sql", "python"])
def test_a_nul_character_in_a_value_is_a_bad_row_not_a_failed_import(tmp_path, use_sql):
    # given a valid seller row whose name carries an escaped NUL, between good rows
    rows = [seller(1), seller(2, name="Acme\x00Fakes"), product(1), listing(1)]
    path = tmp_path / "catalog.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")

    # when it is imported
    report = import_catalog(path, use_sql=use_sql, restart=True)

    # then that line is reported with its reason and every other row is written
    assert [(bad.line, bad.errors) for bad in report.bad_rows] == [
        (2, {"name": "must not contain a NUL character"})
    ]
    assert report.upserted == {"seller": 1, "product": 1, "listing": 1, "sale": 0}


@pytest.mark.parametrize("use_sql", [True, False], ids=["sql", "python"])
@pytest.mark.parametrize("field", ["name", "external_id"])
def test_a_lone_surrogate_in_a_value_is_a_bad_row_not_a_failed_import(tmp_path, use_sql, field):
    # given a seller whose value is a JSON-escaped lone surrogate: valid UTF-8 and valid JSON,
    # but no UTF-8 text PostgreSQL could store (json.dumps writes it as \ud800)
    rows = [seller(1), seller(2, **{field: "Acme \ud800"}), product(1), listing(1)]
    path = tmp_path / "catalog.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")

    # when it is imported (twice: a restart must not stop at the same line)
    for _ in range(2):
        report = import_catalog(path, use_sql=use_sql, restart=True)

        # then that line is reported with its reason and every other row is written
        assert [(bad.line, list(bad.errors)) for bad in report.bad_rows] == [(2, [field])]
        assert "surrogate" in report.bad_rows[0].errors[field]
        assert report.upserted == {"seller": 1, "product": 1, "listing": 1, "sale": 0}


@pytest.mark.parametrize("use_sql", [True, False], ids=["sql", "python"])
def test_a_line_nested_too_deep_for_the_parser_is_a_bad_row(tmp_path, use_sql):
    # given a line of a few kilobytes nested deeper than Python's (or PostgreSQL's) JSON parser
    # recurses, between good rows
    deep = '{"type": "seller", "external_id": "S9", "name": ' + "[" * 5000 + "]" * 5000 + "}"
    good = [json.dumps(row) for row in (seller(1), product(1), listing(1))]
    path = tmp_path / "catalog.jsonl"
    path.write_text("\n".join([good[0], deep, *good[1:]]) + "\n", encoding="utf-8")

    # when it is imported
    report = import_catalog(path, use_sql=use_sql, restart=True)

    # then that line is one bad row and every other row is written
    assert [bad.line for bad in report.bad_rows] == [2]
    assert report.upserted == {"seller": 1, "product": 1, "listing": 1, "sale": 0}
