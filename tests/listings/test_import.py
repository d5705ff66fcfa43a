"""The catalog import: upserts by external id, bad rows by line number, restart, CSV and JSONL."""

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from counterfeits.models import Brand
from listings import importer
from listings.choices import ListingStatus
from listings.importer import default_checkpoint_path, import_catalog
from listings.models import Listing, Marketplace, Product, Sale
from outbox.models import OutboxMessage
from sellers.models import Seller, SellerIdentifier
from tests.factories import ListingFactory
from tests.helpers import run_outbox, wait_for

pytestmark = pytest.mark.django_db

COLUMNS = [
    "type",
    "external_id",
    "name",
    "email",
    "country",
    "phone",
    "brand",
    "title",
    "gtin",
    "seller",
    "product",
    "marketplace",
    "marketplace_country",
    "price",
    "currency",
    "listing",
    "units",
    "customer_country",
    "sold_at",
]


def catalog_rows(n_sellers: int = 3, *, name_suffix: str = "", price: str = "19.99") -> list[dict]:
    """A small, consistent catalog: sellers, one product each, one listing each, one sale each."""
    rows: list[dict] = []
    for i in range(n_sellers):
        rows.append(
            {
                "type": "seller",
                "external_id": f"S{i}",
                "name": f"Seller {i}{name_suffix}",
                "email": f"seller{i}@shop.example",
                "country": "de",
                "phone": f"+49 151 1000{i:03d}",
            }
        )
    for i in range(n_sellers):
        rows.append(
            {
                "type": "product",
                "external_id": f"P{i}",
                "brand": "Acme",
                "title": f"Acme earbuds {i}",
                "gtin": "4006381333931",
            }
        )
    for i in range(n_sellers):
        rows.append(
            {
                "type": "listing",
                "external_id": f"L{i}",
                "seller": f"S{i}",
                "product": f"P{i}",
                "marketplace": "de",
                "marketplace_country": "DE",
                "title": f"Acme earbuds {i}",
                "price": price,
                "currency": "EUR",
            }
        )
    for i in range(n_sellers):
        rows.append(
            {
                "type": "sale",
                "external_id": f"O{i}",
                "listing": f"L{i}",
                "units": 2,
                "customer_country": "FR",
                "sold_at": "2026-01-31T14:05:00Z",
            }
        )
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[dict]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="raise")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


WRITERS = {"jsonl": write_jsonl, "csv": write_csv}


def table_counts() -> dict[str, int]:
    return {
        "sellers": Seller.objects.count(),
        "products": Product.objects.count(),
        "listings": Listing.objects.count(),
        "sales": Sale.objects.count(),
        "brands": Brand.objects.count(),
        "marketplaces": Marketplace.objects.count(),
    }


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_catalog_lands_with_its_references_resolved(tmp_path, fmt):
    # given a catalog in either format
    path = WRITERS[fmt](tmp_path / f"catalog.{fmt}", catalog_rows(3))

    # when it is imported
    report = import_catalog(path)

    # then every row is there, linked by external id, with the brand and marketplace created
    assert report.bad_count == 0
    assert report.upserted == {"seller": 3, "product": 3, "listing": 3, "sale": 3}
    assert table_counts() == {
        "sellers": 3,
        "products": 3,
        "listings": 3,
        "sales": 3,
        "brands": 1,
        "marketplaces": 1,
    }
    listing = Listing.objects.select_related("seller", "product__brand", "marketplace").get(
        external_id="L1"
    )
    assert listing.seller.external_id == "S1"
    assert listing.product.brand.name == "Acme"
    assert (listing.marketplace.code, listing.marketplace.country) == ("de", "DE")
    assert listing.price == Decimal("19.99")
    assert Seller.objects.get(external_id="S2").country == "DE"
    sale = Sale.objects.get(external_id="O1")
    assert (sale.listing_id, sale.units, sale.customer_country) == (listing.pk, 2, "FR")
    # the checkpoint of a finished import is gone: the next run is a fresh sync
    assert not default_checkpoint_path(path).exists()


def test_importing_again_updates_the_same_rows_in_place(tmp_path):
    # given an imported catalog
    import_catalog(write_jsonl(tmp_path / "catalog.jsonl", catalog_rows(3)))
    ids_before = set(Listing.objects.values_list("id", flat=True))
    counts_before = table_counts()

    # when the marketplace sends it again with changed names and prices
    report = import_catalog(
        write_jsonl(tmp_path / "catalog.jsonl", catalog_rows(3, name_suffix=" GmbH", price="5.00"))
    )

    # then no row is added, the same rows carry the new values
    assert report.bad_count == 0
    assert table_counts() == counts_before
    assert set(Listing.objects.values_list("id", flat=True)) == ids_before
    assert Seller.objects.get(external_id="S0").name == "Seller 0 GmbH"
    assert set(Listing.objects.values_list("price", flat=True)) == {Decimal("5.00")}


def test_a_sync_does_not_relist_what_a_case_delisted(tmp_path):
    # given a listing that Touchstone delisted (a case closed the seller)
    import_catalog(write_jsonl(tmp_path / "catalog.jsonl", catalog_rows(1)))
    Listing.objects.filter(external_id="L0").update(status=ListingStatus.DELISTED)

    # when the marketplace syncs it again, saying "active"
    rows = catalog_rows(1, price="7.50")
    rows[2]["status"] = "active"
    import_catalog(write_jsonl(tmp_path / "catalog.jsonl", rows))

    # then its data is updated but it stays delisted
    listing = Listing.objects.get(external_id="L0")
    assert listing.status == ListingStatus.DELISTED
    assert listing.price == Decimal("7.50")


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_bad_rows_are_reported_by_line_while_good_rows_land(tmp_path, fmt):
    # given a catalog with good rows and bad ones in between
    rows = catalog_rows(2)
    rows.insert(1, {"type": "seller", "external_id": "S9", "name": "", "email": "nope"})  # line 2
    rows.insert(
        5,  # line 6
        {
            "type": "listing",
            "external_id": "L9",
            "seller": "S0",
            "product": "P0",
            "marketplace": "de",
            "title": "x",
            "price": "-1",
            "currency": "EURO",
        },
    )
    rows.append(  # the last line: references a listing nobody has
        {
            "type": "sale",
            "external_id": "O9",
            "listing": "L404",
            "units": 1,
            "customer_country": "FR",
            "sold_at": "2026-01-31T14:05:00Z",
        }
    )
    rows.append({"type": "warehouse", "external_id": "W1"})
    path = WRITERS[fmt](tmp_path / f"catalog.{fmt}", rows)
    first_line = 2 if fmt == "csv" else 1  # the CSV header is line 1
    reported = []

    # when it is imported
    report = import_catalog(path, on_bad_row=reported.append)

    # then each bad row is reported once with its line and per-field reasons
    by_line = {bad.line: bad.errors for bad in report.bad_rows}
    assert sorted(by_line) == [
        first_line + 1,
        first_line + 5,
        first_line + len(rows) - 2,
        first_line + len(rows) - 1,
    ]
    assert by_line[first_line + 1] == {
        "name": "required",
        "email": "not a valid e-mail address: 'nope'",
        "country": "required",
    }
    assert set(by_line[first_line + 5]) == {"price", "currency"}
    assert "non-negative" in by_line[first_line + 5]["price"]
    assert by_line[first_line + len(rows) - 2] == {
        "listing": "no listing 'L404' in Touchstone or earlier in the file"
    }
    assert by_line[first_line + len(rows) - 1] == {
        "type": "one of seller, product, listing, sale (got 'warehouse')"
    }
    assert [bad.line for bad in reported] == sorted(by_line)
    # and the good rows landed
    assert report.upserted == {"seller": 2, "product": 2, "listing": 2, "sale": 2}
    assert not Seller.objects.filter(external_id="S9").exists()
    assert not Listing.objects.filter(external_id="L9").exists()


@pytest.mark.parametrize("use_sql", [None, False], ids=["default-path", "python"])
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_line_that_is_not_utf8_is_one_bad_row_and_the_rest_still_lands(tmp_path, fmt, use_sql):
    # given a catalog big enough to be read in several blocks, with one sale row deep inside it
    # whose customer country is Latin-1, not UTF-8
    rows = catalog_rows(150)
    path = WRITERS[fmt](tmp_path / f"catalog.{fmt}", rows)
    lines = path.read_bytes().split(b"\n")
    bad_index = 520  # the 521st line of the file: a sale, which no other row depends on
    assert b"2026-01-31" in lines[bad_index]
    lines[bad_index] = lines[bad_index].replace(b"FR", b"F\xe4")
    path.write_bytes(b"\n".join(lines))

    # when it is imported
    report = import_catalog(path, use_sql=use_sql)

    # then that very line is reported, with the byte and where it is, and nothing else is bad
    column = lines[bad_index].index(b"\xe4") + 1
    where = "in field 'customer_country'" if fmt == "csv" else f"at column {column}"
    assert [(bad.line, bad.errors) for bad in report.bad_rows] == [
        (bad_index + 1, {"row": f"not UTF-8 text (byte 0xe4 {where})"})
    ]
    # and every other row landed: the import did not stop there
    assert report.upserted == {"seller": 150, "product": 150, "listing": 150, "sale": 149}
    assert report.lines_read == len(rows)


def test_a_crashed_import_resumes_after_its_last_committed_batch(tmp_path, monkeypatch):
    # given a catalog of 40 lines imported in batches of 10, and a crash in the third batch
    path = write_jsonl(tmp_path / "catalog.jsonl", catalog_rows(10))
    real_write = importer._write_batch
    calls = {"n": 0}

    def crash_on_third_batch(batch, report, *rest):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("simulated crash")
        return real_write(batch, report, *rest)

    monkeypatch.setattr(importer, "_write_batch", crash_on_third_batch)
    with pytest.raises(RuntimeError, match="simulated crash"):
        import_catalog(path, batch_size=10)

    # then the first two batches (sellers, products) are committed and the checkpoint says so
    checkpoint = json.loads(default_checkpoint_path(path).read_text())
    assert checkpoint["line"] == 20
    assert (Seller.objects.count(), Product.objects.count(), Listing.objects.count()) == (10, 10, 0)

    # when the import runs again, without the fault
    resumed_batches = []

    def count_batches(batch, report, *rest):
        resumed_batches.append(batch)
        return real_write(batch, report, *rest)

    monkeypatch.setattr(importer, "_write_batch", count_batches)
    report = import_catalog(path, batch_size=10)

    # then it starts after line 20, writes only the rest, and everything is there once
    assert report.resumed_after_line == 20
    assert report.lines_read == 20
    assert report.upserted == {"seller": 0, "product": 0, "listing": 10, "sale": 10}
    assert len(resumed_batches) == 2
    assert table_counts()["listings"] == 10
    assert table_counts()["sales"] == 10
    assert not default_checkpoint_path(path).exists()


def test_restart_ignores_the_checkpoint(tmp_path):
    # given a checkpoint of this very file at line 20
    path = write_jsonl(tmp_path / "catalog.jsonl", catalog_rows(10))
    importer.write_checkpoint(
        default_checkpoint_path(path), sha256=importer.file_sha256(path), line=20, source=path
    )

    # when it is imported with restart
    report = import_catalog(path, batch_size=10, restart=True)

    # then every line is read again
    assert report.resumed_after_line == 0
    assert report.lines_read == 40
    assert report.upserted["seller"] == 10


def test_a_checkpoint_of_another_version_of_the_file_is_not_used(tmp_path):
    # given a checkpoint written for different content at the same path
    path = write_jsonl(tmp_path / "catalog.jsonl", catalog_rows(10))
    importer.write_checkpoint(default_checkpoint_path(path), sha256="0" * 64, line=20, source=path)

    # when it is imported
    report = import_catalog(path, batch_size=10)

    # then it starts at line 1
    assert report.resumed_after_line == 0
    assert report.upserted["seller"] == 10


def test_the_same_external_id_twice_in_a_batch_keeps_the_later_line(tmp_path):
    # given a file naming seller S0 twice
    rows = catalog_rows(1)
    rows.insert(1, dict(rows[0], name="Renamed"))
    path = write_jsonl(tmp_path / "catalog.jsonl", rows)

    # when it is imported in one batch
    report = import_catalog(path)

    # then one seller exists, with the later line's name
    assert report.bad_count == 0
    assert list(Seller.objects.values_list("name", flat=True)) == ["Renamed"]


def test_a_listing_on_a_new_marketplace_needs_its_country(tmp_path):
    # given a listing on a marketplace Touchstone does not know, without a country
    rows = catalog_rows(1)
    del rows[2]["marketplace_country"]
    rows[2]["marketplace"] = "jp"
    path = write_jsonl(tmp_path / "catalog.jsonl", rows)

    # when it is imported
    report = import_catalog(path)

    # then the listing is a bad row (line 3) and no marketplace is invented
    assert [(bad.line, list(bad.errors)) for bad in report.bad_rows] == [
        (3, ["marketplace_country"]),
        (4, ["listing"]),  # its sale has no listing now
    ]
    assert not Marketplace.objects.filter(code="jp").exists()


def test_imported_sellers_get_their_identifiers(tmp_path):
    # given sellers with e-mail addresses and phones
    path = write_jsonl(tmp_path / "catalog.jsonl", catalog_rows(2))

    # when they are imported, and the worker has run the ring refresh the import owes
    import_catalog(path)
    assert run_outbox() == 1

    # then their normalised identifiers exist (used to link accounts of one ring)
    seller = Seller.objects.get(external_id="S1")
    kinds = set(SellerIdentifier.objects.filter(seller=seller).values_list("kind", flat=True))
    assert {"email", "phone"} <= kinds


def test_the_command_reports_bad_rows_and_progress_on_stderr(tmp_path):
    # given a catalog with one bad row, and an existing listing it updates
    ListingFactory(external_id="L0")
    rows = catalog_rows(3)
    rows[-1]["units"] = "0"
    path = write_csv(tmp_path / "catalog.csv", rows)
    out, err = io.StringIO(), io.StringIO()

    # when the command runs with small batches and frequent progress
    call_command(
        "import_catalog", str(path), batch_size=4, progress_every=4, stdout=out, stderr=err
    )

    # then stderr names the bad line and shows progress; stdout sums it up
    assert "bad row: line 13: units: a whole number above 0 (got '0')" in err.getvalue()
    assert "progress: line" in err.getvalue()
    assert "1 bad row(s)" in out.getvalue()
    assert "3 listing(s)" in out.getvalue()
    assert Listing.objects.get(external_id="L0").title == "Acme earbuds 0"


def test_the_command_refuses_a_file_of_unknown_format(tmp_path):
    # given a file whose extension says nothing
    path = tmp_path / "catalog.txt"
    path.write_text("{}\n")

    # when / then the command refuses and names the option
    with pytest.raises(Exception, match="--format"):
        call_command("import_catalog", str(path))
    assert Seller.objects.count() == 0


def test_a_payment_account_is_kept_only_as_a_keyed_hash_and_links_the_sellers(tmp_path):
    # given two sellers paid into one bank account (spelt two ways), and one with a junk account
    from django.db import connection

    from sellers.identity import hash_payment_account

    iban = "DE89 3704 0044 0532 0130 00"
    rows = catalog_rows(3)
    rows[0]["payment_account"] = iban
    rows[1]["payment_account"] = "de89-3704-0044-0532-0130-00"
    rows[2]["payment_account"] = "n/a"
    path = write_jsonl(tmp_path / "catalog.jsonl", rows)

    # when the catalog is imported (and the owed ring refresh has run)
    report = import_catalog(path)
    run_outbox()

    # then the junk account is a bad row whose message does not repeat the value
    assert [(bad.line, list(bad.errors)) for bad in report.bad_rows][0] == (3, ["payment_account"])
    assert "n/a" not in str(report.bad_rows[0])
    # and the two sellers carry the account's keyed hash, and are linked by it
    first, second = Seller.objects.get(external_id="S0"), Seller.objects.get(external_id="S1")
    digest = hash_payment_account(iban)
    for seller in (first, second):
        assert SellerIdentifier.objects.filter(seller=seller, kind="payment", value=digest).exists()
    assert first.link_group is not None
    assert first.link_group == second.link_group
    # and the account number itself is stored nowhere in the database
    number = "DE89370400440532013000"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM sellers_seller s WHERE strpos(upper(replace(replace("
            "s::text, ' ', ''), '-', '')), %s) > 0",
            [number],
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            "SELECT count(*) FROM sellers_selleridentifier i WHERE strpos(upper(i::text), %s) > 0",
            [number],
        )
        assert cursor.fetchone()[0] == 0


def test_a_sync_without_the_column_keeps_the_recorded_payment_account(tmp_path):
    # given a seller imported with a payment account
    rows = catalog_rows(1)
    rows[0]["payment_account"] = "GB33BUKB20201555555555"
    import_catalog(write_jsonl(tmp_path / "first.jsonl", rows))
    run_outbox()
    seller = Seller.objects.get(external_id="S0")
    payment = SellerIdentifier.objects.filter(seller=seller, kind="payment")
    before = set(payment.values_list("value", flat=True))

    # when a later sync of the seller has no payment_account column
    import_catalog(write_jsonl(tmp_path / "second.jsonl", catalog_rows(1, name_suffix=" GmbH")))
    run_outbox()

    # then the seller is updated and its recorded account hash is still there
    seller.refresh_from_db()
    assert seller.name == "Seller 0 GmbH"
    after = set(payment.values_list("value", flat=True))
    assert after == before
    assert len(after) == 1


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_brings_the_rings_current_after_the_import(tmp_path, live_worker):
    # given two sellers sharing a phone, in a file of small batches (one refresh owed per batch)
    rows = catalog_rows(3)
    rows[2]["phone"] = rows[0]["phone"]
    path = write_jsonl(tmp_path / "catalog.jsonl", rows)

    # when the import commits and the worker takes what the outbox owes
    import_catalog(path, batch_size=2)
    owed = OutboxMessage.objects.filter(done_at__isnull=True)
    wait_for(lambda: not owed.exists(), message="the ring refresh to be done")

    # then the two are one ring, the third is in none, and their identifiers are there
    first, second, third = (Seller.objects.get(external_id=f"S{i}") for i in range(3))
    assert first.link_group is not None
    assert first.link_group == third.link_group
    assert second.link_group is None
    assert SellerIdentifier.objects.filter(seller=second, kind="email").exists()


def test_the_command_refuses_a_directory_and_says_so(tmp_path):
    # given a directory where the catalog file should be
    # when / then the command refuses, naming it a directory (not "no such file")
    with pytest.raises(CommandError, match="is a directory"):
        call_command("import_catalog", str(tmp_path))


def test_the_command_refuses_an_unreadable_file_without_a_traceback(tmp_path, monkeypatch):
    # given a catalog the operating system will not let us read (the suite runs as root, so
    # the refusal is raised where the file is first opened)
    path = write_jsonl(tmp_path / "catalog.jsonl", catalog_rows(1))

    def refuse(source: Path) -> str:
        raise PermissionError(13, "Permission denied", str(source))

    monkeypatch.setattr(importer, "file_sha256", refuse)

    # when / then a CommandError names the file and the reason, and nothing is written
    with pytest.raises(CommandError, match="Permission denied"):
        call_command("import_catalog", str(path))
    assert Seller.objects.count() == 0


@pytest.mark.parametrize("where", ["directory", "missing parent"])
def test_the_command_refuses_a_checkpoint_it_cannot_write_before_importing(tmp_path, where):
    # given a catalog and a --checkpoint that is a directory, or in a directory that is not there
    path = write_jsonl(tmp_path / "catalog.jsonl", catalog_rows(2))
    if where == "directory":
        checkpoint = tmp_path / "checkpoints"
        checkpoint.mkdir()
    else:
        checkpoint = tmp_path / "no-such-dir" / "catalog.checkpoint.json"

    # when / then the command refuses up front (no traceback after a committed batch)
    with pytest.raises(CommandError, match="--checkpoint"):
        call_command(
            "import_catalog", str(path), "--checkpoint", str(checkpoint), "--batch-size", "2"
        )
    assert table_counts()["sellers"] == 0


@pytest.mark.parametrize("value", [0, -5])
def test_the_command_refuses_a_progress_interval_below_one(tmp_path, value):
    path = write_jsonl(tmp_path / "catalog.jsonl", catalog_rows(1))

    with pytest.raises(CommandError, match="--progress-every must be at least 1"):
        call_command("import_catalog", str(path), f"--progress-every={value}")
    assert Seller.objects.count() == 0
