"""Deterministic bench data: the catalog file the import reads, and cases, events, referrals and
due cases written with PostgreSQL ``COPY`` (where how the rows get there is not what is measured).

Everything derives from a seeded ``random.Random``: the same scale gives the same rows.
"""

import csv
import hashlib
import io
import json
import os
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils import timezone

from appeals.models import Appeal
from counterfeits.audit import GENESIS, event_digest
from counterfeits.choices import CaseState
from counterfeits.models import Brand, Case, CaseEvent
from listings.models import Listing, Sale
from referrals.models import Authority, Referral
from sellers.models import Seller

SEED = 20260601
BASE_TIME = datetime(2026, 1, 1, tzinfo=timezone.UTC)
COUNTRIES = ["US", "US", "US", "DE", "DE", "FR", "GB", "CN", "CN", "IT", "ES", "PL"]
MARKETPLACES = [("us", "US", "USD"), ("de", "DE", "EUR"), ("fr", "FR", "EUR"), ("uk", "GB", "GBP")]
CATALOG_COLUMNS = [
    "type", "external_id", "name", "company_name", "email", "phone", "address_line1", "city",
    "postal_code", "country", "brand", "title", "gtin", "safety_risk", "seller", "product",
    "marketplace", "marketplace_country", "url", "price", "currency",
]  # fmt: skip


@dataclass(frozen=True)
class Scale:
    """How much of everything; ``small`` is 1/100 of the issue's default."""

    name: str
    sellers: int
    products: int
    listings: int
    brands: int
    cases: int
    referrals: int
    due: int
    queue_small: int
    http_seconds: float
    http_max_requests: int
    latency_samples: int


# The issue sweeps 100k due cases (and 100k more for the two-sweeper check): ~2 and ~1.2
# minutes on the 2-core machine with the set-based sweep (docs/performance.md). BENCH_DUE
# lowers it for a quicker default-scale look.
DEFAULT_DUE = int(os.environ.get("BENCH_DUE", "100000"))
SCALES = {
    "default": Scale(
        "default", 200_000, 20_000, 1_000_000, 200, 1_000_000, 1_000_000, DEFAULT_DUE, 1_000,
        10.0, 20_000, 60,
    ),
    "small": Scale(
        "small", 2_000, 200, 10_000, 20, 10_000, 10_000, int(os.environ.get("BENCH_DUE", "200")),
        1_000, 3.0, 5_000, 30,
    ),
}  # fmt: skip


# --- COPY ------------------------------------------------------------------------------------


def _filler(model: type[Model], columns: Sequence[str]) -> tuple[list[str], list[Any]]:
    """The columns a row leaves out, with what the model would put there (default, now, NULL)."""
    now = timezone.now()
    names, values = [], []
    for f in model._meta.concrete_fields:
        if f.column in columns or f.primary_key:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = now
        else:
            # The model's default; for a text field without one, Django's "" (None if nullable).
            value = f.get_default()
            if value is None and not f.null:
                raise ValueError(f"{model.__name__}.{f.name} needs a value in the bench data")
        names.append(f.column)
        values.append(value)
    return names, values


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """``COPY table (columns) FROM STDIN`` in chunks; None is NULL, '' an empty string."""
    count = 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_STRINGS, lineterminator="\n")
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"

    def send() -> None:
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.copy_expert(sql, buffer)
        buffer.seek(0)
        buffer.truncate()

    for row in rows:
        writer.writerow(row)
        count += 1
        if count % 100_000 == 0:
            send()
    if buffer.tell():
        send()
    return count


def copy_models(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows of ``model`` giving ``columns``; every other column gets the model's default."""
    extra_names, extra_values = _filler(model, columns)
    extra = tuple(extra_values)
    return copy_rows(
        model._meta.db_table, [*columns, *extra_names], (tuple(row) + extra for row in rows)
    )


def reset_sequence(model: type[Model]) -> None:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - our names
            f"COALESCE((SELECT MAX(id) FROM {table}), 1))"
        )


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- the catalog file ------------------------------------------------------------------------


def catalog_rows(scale: Scale) -> Iterable[dict[str, Any]]:
    rng = random.Random(SEED)  # noqa: S311 - seeded bench data, not secrets
    for i in range(scale.sellers):
        yield {
            "type": "seller",
            "external_id": f"S{i:07d}",
            "name": f"Seller Person {i}",
            "company_name": f"Trading Co {i}",
            "email": f"seller{i}@shop{i % 97}.example",
            "phone": f"+49 151 {20000000 + i}",
            "address_line1": f"{i + 1} Harbour Road",
            "city": "Hamburg",
            "postal_code": f"{20000 + i % 9000}",
            "country": rng.choice(COUNTRIES),
        }
    for i in range(scale.products):
        yield {
            "type": "product",
            "external_id": f"P{i:07d}",
            "brand": f"Brand {i % scale.brands:03d}",
            "title": f"Brand {i % scale.brands:03d} product {i}",
            "gtin": f"{4000000000000 + i}",
            "safety_risk": "true" if i % 50 == 0 else "false",
        }
    for j in range(scale.listings):
        code, country, currency = MARKETPLACES[j % len(MARKETPLACES)]
        yield {
            "type": "listing",
            "external_id": f"L{j:08d}",
            "seller": f"S{j % scale.sellers:07d}",
            "product": f"P{j % scale.products:07d}",
            "marketplace": code,
            "marketplace_country": country,
            "title": f"Listing {j} of product {j % scale.products}",
            "url": f"https://{code}.shop.example/item/{j}",
            "price": f"{rng.randint(100, 99999) / 100:.2f}",
            "currency": currency,
        }


def write_catalog(folder: Path, scale: Scale) -> tuple[Path, Path, int]:
    """The same catalog as JSON Lines (for the import) and CSV (for the COPY baseline)."""
    folder.mkdir(parents=True, exist_ok=True)
    jsonl, csv_path = folder / "catalog.jsonl", folder / "catalog.csv"
    count = 0
    with jsonl.open("w", encoding="utf-8") as j_out, csv_path.open("w", encoding="utf-8") as c_out:
        writer = csv.writer(c_out, lineterminator="\n")
        for row in catalog_rows(scale):
            j_out.write(json.dumps(row, separators=(",", ":")) + "\n")
            writer.writerow([row.get(column, "") for column in CATALOG_COLUMNS])
            count += 1
    return jsonl, csv_path, count


# --- cases, events, referrals ----------------------------------------------------------------

PATHS = {
    CaseState.OPEN: [("open", "", CaseState.OPEN)],
    CaseState.DISMISSED: [
        ("open", "", CaseState.OPEN),
        ("dismiss", CaseState.OPEN, CaseState.DISMISSED),
    ],
    CaseState.ACCOUNT_CLOSED: [
        ("open", "", CaseState.OPEN),
        ("confirm", CaseState.OPEN, CaseState.CONFIRMED),
        ("close_account", CaseState.CONFIRMED, CaseState.ACCOUNT_CLOSED),
    ],
    CaseState.APPEAL_REVIEW: [
        ("open", "", CaseState.OPEN),
        ("confirm", CaseState.OPEN, CaseState.CONFIRMED),
        ("close_account", CaseState.CONFIRMED, CaseState.ACCOUNT_CLOSED),
        ("file_appeal", CaseState.ACCOUNT_CLOSED, CaseState.APPEAL_REVIEW),
    ],
    CaseState.REFERRED: [
        ("open", "", CaseState.OPEN),
        ("confirm", CaseState.OPEN, CaseState.CONFIRMED),
        ("close_account", CaseState.CONFIRMED, CaseState.ACCOUNT_CLOSED),
        ("expire_appeal_window", CaseState.ACCOUNT_CLOSED, CaseState.REFERRAL_PENDING),
        ("refer", CaseState.REFERRAL_PENDING, CaseState.REFERRED),
    ],
}
# The analyst queue is mostly open cases; none is left where the sweep would take it. Appeals
# under review give the appeal queue and its API list their rows.
STATE_WEIGHTS = [
    (CaseState.OPEN, 78),
    (CaseState.DISMISSED, 10),
    (CaseState.ACCOUNT_CLOSED, 5),
    (CaseState.APPEAL_REVIEW, 2),
    (CaseState.REFERRED, 5),
]
ANALYST_TRANSITIONS = {"open", "confirm", "dismiss"}
ROLES = {"file_appeal": "seller"}
CASE_COLUMNS = [
    "id", "seller_id", "brand_id", "state", "safety_risk", "priority", "confirmed_at",
    "account_closed_at", "appeal_deadline", "referred_at", "closed_at", "created_at",
    "updated_at",
]  # fmt: skip
EVENT_COLUMNS = [
    "case_id", "seq", "transition", "from_state", "to_state", "actor_label", "actor_role",
    "reason", "at", "prev_hash", "hash",
]  # fmt: skip


def _events(case_id: int, path: list[tuple[str, str, str]], start: datetime) -> list[tuple]:
    rows, prev = [], GENESIS
    for seq, (name, before, after) in enumerate(path, start=1):
        at = start + timedelta(minutes=seq)
        role = "analyst" if name in ANALYST_TRANSITIONS else ROLES.get(name, "system")
        label = "bench-analyst" if role == "analyst" else role
        reason = f"bench {name}"
        digest = event_digest(
            case_id=case_id,
            seq=seq,
            transition=name,
            from_state=before,
            to_state=after,
            actor_label=label,
            actor_role=role,
            reason=reason,
            at=at,
            prev_hash=prev,
        )
        rows.append((case_id, seq, name, before, after, label, role, reason, at, prev, digest))
        prev = digest
    return rows


def _next_id(model: type[Model]) -> int:
    last = model.objects.order_by("-id").values_list("id", flat=True).first()
    return (last or 0) + 1


def add_cases(count: int, *, seed: int) -> int:
    """``count`` cases spread over sellers and brands, in the states of STATE_WEIGHTS, each with
    the hash-chained events that lead to its state. Returns the first new case id."""
    rng = random.Random(seed)  # noqa: S311 - seeded bench data, not secrets
    sellers = list(Seller.objects.order_by("id").values_list("id", flat=True))
    brands = list(Brand.objects.order_by("id").values_list("id", flat=True))
    states = [s for s, _ in STATE_WEIGHTS]
    weights = [w for _, w in STATE_WEIGHTS]
    first = _next_id(Case)
    cases, events, appeals = [], [], []
    for n in range(count):
        case_id = first + n
        state = rng.choices(states, weights)[0]
        created = BASE_TIME + timedelta(seconds=case_id * 7)
        steps = PATHS[state]
        closed = created + timedelta(minutes=3) if len(steps) >= 3 else None
        final = created + timedelta(minutes=len(steps)) if state != CaseState.OPEN else None
        window_open = state in (CaseState.ACCOUNT_CLOSED, CaseState.APPEAL_REVIEW)
        deadline = closed + timedelta(days=3650) if window_open else None
        cases.append(
            (
                case_id,
                sellers[rng.randrange(len(sellers))],
                brands[rng.randrange(len(brands))],
                state,
                False,
                rng.choice((0, 0, 0, 1, 2)),
                created + timedelta(minutes=2) if closed else None,
                closed,
                deadline,
                final if state == CaseState.REFERRED else None,
                final if state in (CaseState.DISMISSED, CaseState.REFERRED) else None,
                created,
                created,
            )
        )
        events.extend(_events(case_id, steps, created))
        if state == CaseState.APPEAL_REVIEW:
            filed = created + timedelta(minutes=len(steps))
            appeals.append((case_id, f"bench appeal on case {case_id}", filed))
    copy_models(Case, CASE_COLUMNS, cases)
    copy_models(CaseEvent, EVENT_COLUMNS, events)
    copy_models(Appeal, ["case_id", "statement", "filed_at"], appeals)
    reset_sequence(Case)
    reset_sequence(CaseEvent)
    reset_sequence(Appeal)
    return first


def add_referrals(count: int, authority: Authority) -> int:
    """One referral to ``authority`` for each of the first ``count`` cases without one."""
    case_rows = (
        Case.objects.filter(referrals__isnull=True)
        .order_by("id")
        .values_list("id", "seller__country", "brand__name", "created_at")[:count]
    )
    first = _next_id(Referral)
    rows = []
    for n, (case_id, country, brand, created) in enumerate(case_rows.iterator(chunk_size=20_000)):
        referral_id = first + n
        packet = json.dumps(
            {
                "schema": "touchstone.referral/1",
                "referral_id": referral_id,
                "case_id": case_id,
                "authority": {"code": authority.code},
                "seller": {"country": country},
                "brand": {"name": brand},
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        digest = hashlib.sha256(packet.encode()).hexdigest()
        at = created + timedelta(days=1)
        rows.append(
            (
                referral_id, case_id, authority.pk, "delivered", packet, digest, "A" * 86 + "==",
                "bench-key", authority.legal_basis, authority.profile, country, brand, at, at,
            )
        )  # fmt: skip
    copy_models(
        Referral,
        [
            "id",
            "case_id",
            "authority_id",
            "status",
            "packet_json",
            "sha256",
            "signature",
            "key_id",
            "legal_basis",
            "profile",
            "seller_country",
            "brand_name",
            "created_at",
            "delivered_at",
        ],  # fmt: skip
        rows,
    )
    reset_sequence(Referral)
    return len(rows)


def add_due_cases(count: int, *, seed: int, listing_offset: int) -> list[int]:
    """``count`` cases whose appeal window ran out yesterday: account closed, one listing with a
    sale each, the events up to the closure. The sweep refers them. Returns their ids."""
    rng = random.Random(seed)  # noqa: S311 - seeded bench data, not secrets
    listings = list(
        Listing.objects.order_by("id").values_list("id", "seller_id", "product__brand_id")[
            listing_offset : listing_offset + count
        ]
    )
    if len(listings) < count:
        raise ValueError(f"only {len(listings)} listings for {count} due cases")
    first = _next_id(Case)
    now = timezone.now()
    cases, events, links, sales = [], [], [], []
    for n, (listing_id, seller_id, brand_id) in enumerate(listings):
        case_id = first + n
        created = now - timedelta(days=40, minutes=n % 1000)
        closed = created + timedelta(minutes=3)
        cases.append(
            (
                case_id, seller_id, brand_id, CaseState.ACCOUNT_CLOSED, False, 0,
                created + timedelta(minutes=2), closed, now - timedelta(days=1), None, None,
                created, created,
            )
        )  # fmt: skip
        events.extend(_events(case_id, PATHS[CaseState.ACCOUNT_CLOSED], created))
        links.append((case_id, listing_id))
        sales.append(
            (f"bench-sale-{case_id}", listing_id, rng.randint(1, 9), rng.choice(COUNTRIES), created)
        )
    copy_models(Case, CASE_COLUMNS, cases)
    copy_models(CaseEvent, EVENT_COLUMNS, events)
    copy_rows(Case.listings.through._meta.db_table, ["case_id", "listing_id"], links)
    copy_models(Sale, ["external_id", "listing_id", "units", "customer_country", "sold_at"], sales)
    for model in (Case, CaseEvent, Sale, Case.listings.through):
        reset_sequence(model)
    return [first + n for n in range(count)]
