"""``python -m bench.run [--scale default|small]``: each measurement of issue 6 beside its baseline.

It creates a dedicated PostgreSQL database (``BENCH_DATABASE_URL``, default
``touchstone_bench``), fills it deterministically, measures, prints the table and writes
``var/bench/results.json``, then drops the database (``--keep`` keeps it for EXPLAIN).
"""

import argparse
import base64
import hashlib
import json
import os
import platform
import random
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/touchstone_bench"
DEFAULT_BROKER = "redis://127.0.0.1:6379/8"
OUT_DIR = ROOT / "var" / "bench"
# HTTP measurements alternate ours and the baseline in this many slices each (see run_alternating).
ROUNDS = 6


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def bench_env(database_url: str, broker_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker_url,
        SIGNING_KEY_PATH=str(OUT_DIR / "signing_key.pem"),
        MEDIA_ROOT=str(OUT_DIR / "media"),
        DEBUG="0",
        # Production mode refuses to start without a key of its own; this run's is thrown away.
        SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        PYTHONPATH=str(ROOT),
    )
    return env


def recreate_database(url: str, *, drop_only: bool = False) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"refusing odd database name {name!r}")
    admin = psycopg2.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname="postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


class Results:
    """The rows of the table, as printed and as written to results.json."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(
        self,
        name: str,
        *,
        ours: float | None,
        baseline: float | None,
        unit: str,
        goal: str,
        passed: bool | None,
        ratio: float | None = None,
        note: str = "",
        reproduce: str = "",
    ) -> None:
        if ratio is None and ours is not None and baseline:
            ratio = ours / baseline
        row = {
            "measurement": name,
            "ours": ours,
            "baseline": baseline,
            "unit": unit,
            "ratio": ratio,
            "goal": goal,
            "pass": passed,
            "note": note,
            "reproduce": reproduce,
        }
        self.rows.append(row)
        log(
            f"{name}: ours={_fmt(ours)} baseline={_fmt(baseline)} {unit} ratio={_fmt(ratio)} "
            f"goal {goal} -> {'PASS' if passed else 'FAIL' if passed is False else 'n/a'} {note}"
        )

    def table(self) -> str:
        head = ["measurement", "ours", "baseline", "unit", "ratio", "goal", "pass/fail"]
        lines = [
            [
                r["measurement"],
                _fmt(r["ours"]),
                _fmt(r["baseline"]),
                r["unit"],
                _fmt(r["ratio"]),
                r["goal"],
                "PASS" if r["pass"] else ("FAIL" if r["pass"] is False else "n/a"),
            ]
            for r in self.rows
        ]
        widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=False)]
        out = [" | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
        out.append("-+-".join("-" * w for w in widths))
        out += [" | ".join(str(c).ljust(w) for c, w in zip(x, widths, strict=True)) for x in lines]
        notes = [f"- {r['measurement']}: {r['note']}" for r in self.rows if r["note"]]
        return "\n".join(out + (["", "notes:", *notes] if notes else []))


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def drf_cursor(position: int) -> str:
    """DRF's CursorPagination cursor for 'after this id' (its own encoding: base64 of p=...)."""
    return base64.b64encode(urlencode({"p": str(position)}).encode("ascii")).decode("ascii")


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


# --- measurements ------------------------------------------------------------------------------


def measure_import(results: Results, scale, work: Path) -> None:
    from django.db import connection

    from bench.data import CATALOG_COLUMNS, write_catalog
    from listings.importer import import_catalog

    log("writing the catalog file")
    jsonl, csv_path, rows = write_catalog(work, scale)
    log(f"importing {rows:,} catalog rows (sellers, products, listings)")
    report = import_catalog(jsonl, restart=True)
    ours = report.rows_written / report.seconds
    refresh_seconds, messages = drain_ring_refresh()
    with connection.cursor() as cursor:
        columns = ", ".join(f"{c} text" for c in CATALOG_COLUMNS)
        cursor.execute(f"CREATE TABLE bench_catalog_plain ({columns})")
        started = time.perf_counter()
        with csv_path.open(encoding="utf-8") as handle:
            cursor.copy_expert("COPY bench_catalog_plain FROM STDIN WITH (FORMAT csv)", handle)
        copy_seconds = time.perf_counter() - started
        # The least an upsert by external id needs: the same COPY into a table with one index,
        # unique on the id. Reported beside the goal, which it bounds.
        cursor.execute(
            "CREATE TABLE bench_catalog_unique (LIKE bench_catalog_plain, "
            "UNIQUE (type, external_id))"
        )
        started = time.perf_counter()
        with csv_path.open(encoding="utf-8") as handle:
            cursor.copy_expert("COPY bench_catalog_unique FROM STDIN WITH (FORMAT csv)", handle)
        unique_seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_catalog_plain, bench_catalog_unique")
    listings, schema_seconds = copy_into_listing_schema(work)
    baseline = rows / copy_seconds
    ratio = ours / baseline
    results.add(
        f"catalog import, {scale.listings:,} listings + {scale.sellers:,} sellers",
        ours=ours,
        baseline=baseline,
        unit="rows/s",
        goal=">= 0.3",
        passed=ratio >= 0.3 and report.bad_count == 0,
        note=f"{report.rows_written:,} rows in {report.seconds:.1f}s, "
        f"{report.bad_count} bad; COPY {copy_seconds:.2f}s",
        reproduce="python manage.py import_catalog var/bench/work/catalog.jsonl",
    )
    results.add(
        "catalog floor: COPY into a table with one unique index (type, external_id)",
        ours=rows / unique_seconds,
        baseline=baseline,
        unit="rows/s",
        goal="reported",
        passed=None,
        note=f"COPY {unique_seconds:.2f}s; an upsert by external id cannot beat this ratio",
        reproduce="make bench",
    )
    results.add(
        f"catalog floor: the {listings:,} imported listings by COPY into listings_listing's shape",
        ours=listings / schema_seconds,
        baseline=baseline,
        unit="rows/s",
        goal="reported",
        passed=None,
        note=f"COPY {schema_seconds:.2f}s into a table with listings_listing's indexes, checks and "
        "foreign keys (checked at its commit); no parsing, validation or upsert: what writing "
        "clean rows alone costs",
        reproduce="make bench",
    )
    results.add(
        "ring refresh the import owes (outbox backlog, drained in-process)",
        ours=refresh_seconds,
        baseline=report.seconds,
        unit="s",
        goal="reported",
        passed=None,
        note=f"{messages} messages for {report.upserted['seller']:,} sellers; baseline: the "
        f"import itself; import + refresh {report.rows_written / (report.seconds + refresh_seconds):,.0f} "  # noqa: E501
        "rows/s",
        reproduce="celery -A config worker (drains sellers.tasks.refresh_identifiers_task)",
    )


def copy_into_listing_schema(work: Path) -> tuple[int, float]:
    """The listings the import wrote, read out by ``COPY`` and written by ``COPY`` into a new
    table with listings_listing's columns, indexes, checks and foreign keys: rows and seconds
    (the write alone, its deferred foreign-key checks included)."""
    from django.db import connection

    from listings.models import Listing

    table = Listing._meta.db_table
    dump = work / "listings.copy"
    with connection.cursor() as cursor:
        with dump.open("wb") as out:
            cursor.copy_expert(f"COPY {table} TO STDOUT WITH (FORMAT binary)", out)
        cursor.execute(f"CREATE TABLE bench_listing_floor (LIKE {table} INCLUDING ALL)")
        # LIKE brings indexes, defaults and checks, not foreign keys: ours, as they are.
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f'",
            [table],
        )
        for name, definition in cursor.fetchall():
            cursor.execute(f"ALTER TABLE bench_listing_floor ADD CONSTRAINT f_{name} {definition}")
        count = Listing.objects.count()
        started = time.perf_counter()
        with dump.open("rb") as handle:  # autocommit: the deferred checks run before it returns
            cursor.copy_expert("COPY bench_listing_floor FROM STDIN WITH (FORMAT binary)", handle)
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_listing_floor")
    dump.unlink()
    return count, seconds


def drain_ring_refresh() -> tuple[float, int]:
    """Run the ring refresh the import owed through the outbox, as the worker would, in this
    process (the bench runs no worker): seconds taken and messages run."""
    from outbox.models import OutboxMessage
    from sellers.identity import REFRESH_TASK
    from sellers.tasks import refresh_identifiers_task

    owed = list(
        OutboxMessage.objects.filter(task=REFRESH_TASK, done_at__isnull=True)
        .order_by("id")
        .values_list("id", "args")
    )
    log(f"draining the ring refresh backlog ({len(owed)} messages)")
    started = time.perf_counter()
    for outbox_id, args in owed:
        refresh_identifiers_task(*args, outbox_id=outbox_id)
    return time.perf_counter() - started, len(owed)


def measure_rings(results: Results, samples: int = 60) -> None:
    """Ring grouping kept current at catalog scale: one seller edited (a shared phone that
    merges two groups, then its correction that splits them) against the indexed lookup of
    that seller's matches, which any grouping needs at least."""
    import random

    from sellers.identity import save_seller
    from sellers.models import Seller, SellerIdentifier

    rng = random.Random(8)  # noqa: S311 - bench sampling, not secrets
    total = Seller.objects.count()
    ids = list(Seller.objects.order_by("id").values_list("id", flat=True)[:: max(1, total // 500)])
    pairs = [tuple(rng.sample(ids, 2)) for _ in range(samples)]
    edits: list[float] = []
    lookups: list[float] = []
    for a, b in pairs:
        seller = Seller.objects.get(pk=a)
        phone, other = seller.phone, Seller.objects.values_list("phone", flat=True).get(pk=b)
        for new_phone in (other, phone):  # merge, then the correction that splits
            seller.phone = new_phone
            started = time.perf_counter()
            save_seller(seller)
            edits.append(time.perf_counter() - started)
        started = time.perf_counter()
        keys = list(SellerIdentifier.objects.filter(seller_id=a).values_list("kind", "value"))
        matches = SellerIdentifier.objects.none()
        for kind, value in keys:
            matches |= SellerIdentifier.objects.filter(kind=kind, value=value)
        list(matches.values_list("seller_id", flat=True))
        lookups.append(time.perf_counter() - started)
    edits.sort()
    lookups.sort()
    p95 = edits[int(len(edits) * 0.95) - 1]
    base = lookups[int(len(lookups) * 0.95) - 1]
    results.add(
        f"ring grouping: one seller edited among {total:,} (p95)",
        ours=p95 * 1000,
        baseline=base * 1000,
        unit="ms",
        goal="<= 100 ms",
        passed=p95 <= 0.1,
        note=f"{len(edits)} edits (merge, then split); baseline: the indexed lookup of the "
        "seller's matches; the import's refresh is the row above",
        reproduce="python scripts/bench_rings.py 200000",
    )


def setup_people():
    """Authorities, an authority token, an analyst (session), a brand owner with a token."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from counterfeits.models import Brand, BrandMembership
    from referrals.models import Authority
    from referrals.services import ensure_default_authorities, issue_token

    ensure_default_authorities()
    us = Authority.objects.get(code="US-IPRC")
    _, authority_token = issue_token(authority=us)
    users = get_user_model()
    analyst = users.objects.create_user("bench-analyst", password="bench-analyst-pw-1")  # noqa: S106
    analyst.groups.add(Group.objects.get_or_create(name="analyst")[0])
    owner = users.objects.create_user("bench-brand", password="bench-brand-pw-1")  # noqa: S106
    owner.groups.add(Group.objects.get_or_create(name="brand_owner")[0])
    brand = Brand.objects.order_by("id").first()
    BrandMembership.objects.create(brand=brand, user=owner, role="owner")
    _, owner_token = issue_token(user=owner)
    client = Client()
    client.force_login(analyst)
    session = client.cookies["sessionid"].value
    return {
        "authority": us,
        "authority_token": authority_token,
        "analyst": analyst,
        "session": session,
        "owner_token": owner_token,
        "brand": brand,
    }


def queue_latency(address: str, people: dict, samples: int) -> tuple[float, float]:
    from bench.load import run_load

    headers = {"Cookie": f"sessionid={people['session']}"}
    # Warm every gunicorn worker (imports, connections, templates) before timing.
    run_load(address, lambda n, s: ("GET", "/cases/", None, headers), threads=4, seconds=30,
             max_requests=24)  # fmt: skip
    result = run_load(
        address,
        lambda n, s: ("GET", "/cases/", None, headers),
        threads=1,
        seconds=120,
        max_requests=samples,
    )
    if result.errors:
        raise RuntimeError(f"queue page answered {result.statuses}")
    return result.percentile(95), result.median


def measure_referral_list(results: Results, address: str, people: dict, scale) -> None:
    from bench.load import run_alternating, run_load
    from referrals.models import Referral

    ids = Referral.objects.filter(authority=people["authority"]).order_by("id")
    first_id = ids.values_list("id", flat=True).first()
    last_id = ids.reverse().values_list("id", flat=True).first()
    count = ids.count()
    threads = 8
    # Each client starts at its own place in the list and follows `next`, as pullers do.
    starts = [first_id - 1 + (count * n) // threads for n in range(threads)]
    auth = {"Authorization": f"Bearer {people['authority_token']}"}

    def ours_request(n: int, state: dict):
        path = state.get("next") or (
            f"/api/v1/referrals/?page_size=100&cursor={drf_cursor(starts[n])}"
        )
        return "GET", path, None, auth

    def ours_follow(n: int, state: dict, status: int, body: bytes) -> None:
        following = json.loads(body).get("next")
        state["next"] = path_of(following) if following else None

    def base_request(n: int, state: dict):
        after = state.get("after", starts[n])
        return "GET", f"/bench/baseline/referrals/?authority=US-IPRC&after={after}", None, {}

    def base_follow(n: int, state: dict, status: int, body: bytes) -> None:
        state["after"] = json.loads(body)["next"] or first_id - 1

    # Warm both (every worker imports its views on first use), then alternate in slices.
    run_load(address, ours_request, threads=threads, seconds=2, max_requests=threads * 4)
    run_load(address, base_request, threads=threads, seconds=2, max_requests=threads * 4)
    ours, base = run_alternating(
        address,
        {"make_request": ours_request, "on_response": ours_follow},
        {"make_request": base_request, "on_response": base_follow},
        rounds=ROUNDS,
        threads=threads,
        seconds=scale.http_seconds,
        max_requests=scale.http_max_requests,
    )
    ratio = ours.rps / base.rps if base.rps else None
    results.add(
        f"authority referral list, pages of 100, {count:,} referrals",
        ours=ours.rps,
        baseline=base.rps,
        unit="req/s",
        goal=">= 0.5",
        passed=bool(ratio and ratio >= 0.5 and not ours.errors and not base.errors),
        note=f"{threads} client threads on loopback, gunicorn gthread; p50 "
        f"{ours.median * 1000:.1f} ms vs {base.median * 1000:.1f} ms; errors {ours.errors}/"
        f"{base.errors}",
        reproduce="make bench",
    )

    # Deep pages: the last page's latency against the first's, one client, one at a time.
    def single(path: str):
        return run_load(address, lambda n, s: ("GET", path, None, auth), threads=1,
                        seconds=60, max_requests=scale.latency_samples)  # fmt: skip

    first = single("/api/v1/referrals/?page_size=100")
    last = single(f"/api/v1/referrals/?page_size=100&cursor={drf_cursor(last_id - 60)}")
    ratio = last.median / first.median
    results.add(
        "deep pages: last page vs first (median latency)",
        ours=last.median * 1000,
        baseline=first.median * 1000,
        unit="ms",
        goal="<= 1.5",
        passed=ratio <= 1.5 and not first.errors and not last.errors,
        note=f"cursor at id {last_id - 60:,} of {count:,}",
    )


def measure_intake(results: Results, address: str, people: dict, scale) -> None:
    from bench.load import run_alternating, run_load
    from sellers.models import Seller

    sellers = list(Seller.objects.order_by("id").values_list("id", flat=True)[:5000])
    rng = random.Random(7)  # noqa: S311 - seeded bench data, not secrets
    lock = threading.Lock()

    def body() -> bytes:
        with lock:
            seller = rng.choice(sellers)
        return json.dumps(
            {
                "brand": people["brand"].pk,
                "seller": seller,
                "reason": "counterfeit",
                "explanation": "Test buy showed a fake: wrong hologram, no serial number.",
                "notifier_name": "Brand Protection Desk",
                "notifier_email": "protection@brand.example",
                "good_faith": True,
            }
        ).encode()

    auth = {"Authorization": f"Bearer {people['owner_token']}", "Content-Type": "application/json"}

    def ours_request(n: int, state: dict):
        return "POST", "/api/v1/reports/", body(), auth

    def base_request(n: int, state: dict):
        return "POST", "/bench/baseline/reports/", body(), {"Content-Type": "application/json"}

    warm = {"threads": 8, "seconds": 2, "max_requests": 32, "expect": (201,)}
    run_load(address, ours_request, **warm)
    run_load(address, base_request, **warm)
    ours, base = run_alternating(
        address,
        {"make_request": ours_request},
        {"make_request": base_request},
        rounds=ROUNDS,
        threads=8,
        seconds=scale.http_seconds,
        max_requests=scale.http_max_requests,
        expect=(201,),
    )
    ratio = ours.rps / base.rps if base.rps else None
    results.add(
        "report intake POST /api/v1/reports/",
        ours=ours.rps,
        baseline=base.rps,
        unit="req/s",
        goal=">= 0.4",
        passed=bool(ratio and ratio >= 0.4 and not ours.errors and not base.errors),
        note=f"8 client threads; statuses {ours.statuses} vs {base.statuses}",
    )


def measure_queries(results: Results, people: dict) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    analyst = Client()
    analyst.force_login(people["analyst"])
    authority = Client(HTTP_AUTHORIZATION=f"Bearer {people['authority_token']}")
    endpoints = [
        (analyst, "/api/v1/cases/"),
        (analyst, "/api/v1/reports/"),
        (analyst, "/api/v1/sellers/"),
        (analyst, "/api/v1/listings/"),
        (analyst, "/api/v1/appeals/"),
        (authority, "/api/v1/referrals/"),
    ]
    worst, checked, notes = 0.0, [], []
    for client, path in endpoints:
        counts = {}
        for size in (1, 100):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path, {"page_size": size})
            rows = len(response.json().get("results", [])) if response.status_code == 200 else 0
            counts[size] = (len(queries), rows, response.status_code)
        if counts[100][2] != 200 or counts[100][1] < 100:
            notes.append(f"{path} skipped ({counts[100][1]} rows, HTTP {counts[100][2]})")
            continue
        ratio = counts[100][0] / counts[1][0]
        worst = max(worst, ratio)
        checked.append(f"{path} {counts[1][0]}->{counts[100][0]}")
    results.add(
        "list endpoints: queries at 100 rows / at 1 row (worst)",
        ours=worst,
        baseline=1.0,
        unit="ratio",
        ratio=worst,
        goal="1.0",
        passed=worst == 1.0 if checked else None,
        note="; ".join(checked + notes)
        + "; workbench pages have a fixed page size of 50: their query counts are asserted by "
        "the workbench tests",
    )


# Sweeper processes for the timed sweep: the issue scales the sweep out by worker processes on
# the machine's cores (the beat task's helpers, SWEEP_WORKERS); BENCH_SWEEP_PROCESSES=1 times one.
SWEEP_PROCESSES = int(os.environ.get("BENCH_SWEEP_PROCESSES", str(os.cpu_count() or 1)))


def run_sweep(env: dict[str, str], processes: int = 1) -> dict:
    command = [sys.executable, "manage.py", "sweep_deadlines", "--processes", str(processes)]
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.rss", "--", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def referred_count(stdout: str) -> int:
    digits = [int(word) for word in stdout.split() if word.isdigit()]
    return digits[0] if digits else 0


def copy_seconds_for(tables: list[tuple[str, str]]) -> tuple[float, int]:
    """Export (untimed) the rows each query selects, then time COPY of them into plain tables."""
    import io

    from django.db import connection

    exported, rows = [], 0
    with connection.cursor() as cursor:
        for n, (table, query) in enumerate(tables):
            buffer = io.StringIO()
            cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)", buffer)
            rows += buffer.getvalue().count("\n")
            plain = f"bench_copy_{n}"
            cursor.execute(f"CREATE TABLE {plain} (LIKE {table})")
            exported.append((plain, buffer))
        started = time.perf_counter()
        for plain, buffer in exported:
            buffer.seek(0)
            cursor.copy_expert(f"COPY {plain} FROM STDIN WITH (FORMAT csv)", buffer)
        seconds = time.perf_counter() - started
        for plain, _ in exported:
            cursor.execute(f"DROP TABLE {plain}")
    return seconds, rows


def measure_sweep(results: Results, env: dict[str, str], scale) -> None:
    from django.db import connection

    from bench.data import add_due_cases, analyze
    from counterfeits.models import CaseEvent
    from referrals.models import Referral

    log(f"adding {scale.due:,} due cases")
    due = add_due_cases(scale.due, seed=11, listing_offset=0)
    analyze()
    log(f"sweeping (one manage.py sweep_deadlines --processes {SWEEP_PROCESSES})")
    sweep = run_sweep(env, SWEEP_PROCESSES)
    referred = referred_count(sweep["stdout"])
    low, high = due[0], due[-1]
    # Integers of our own making: no outside input reaches these statements.
    ids = f"BETWEEN {int(low)} AND {int(high)}"
    copy_seconds, copied = copy_seconds_for(
        [
            ("counterfeits_case", f"SELECT * FROM counterfeits_case WHERE id {ids}"),  # noqa: S608
            (
                "counterfeits_caseevent",
                f"SELECT * FROM counterfeits_caseevent WHERE case_id {ids} AND seq > 3",  # noqa: S608
            ),
            ("referrals_referral", f"SELECT * FROM referrals_referral WHERE case_id {ids}"),  # noqa: S608
        ]
    )
    made = Referral.objects.filter(case_id__gte=low, case_id__lte=high).count()
    events = CaseEvent.objects.filter(case_id__gte=low, case_id__lte=high, seq__gt=3).count()
    ratio = sweep["seconds"] / copy_seconds
    results.add(
        f"deadline sweep, {scale.due:,} due cases",
        ours=sweep["seconds"],
        baseline=copy_seconds,
        unit="s",
        goal="<= 5",
        passed=ratio <= 5 and referred == len(due),
        note=f"referred {referred:,} with {SWEEP_PROCESSES} sweeper process(es) on "
        f"{os.cpu_count()} cores; wrote {events:,} events, {made:,} signed referrals "
        f"({copied:,} rows in the COPY); time includes the command's start-up",
        reproduce=f"python manage.py sweep_deadlines --processes {SWEEP_PROCESSES}",
    )
    rss_mb = sweep["max_rss_kb"] / 1024
    results.add(
        f"worker peak RSS through the {scale.due:,}-case sweep",
        ours=rss_mb,
        baseline=None,
        unit="MB",
        goal="<= 300",
        passed=rss_mb <= 300,
        note="getrusage(RUSAGE_CHILDREN).ru_maxrss: the largest sweep_deadlines process "
        f"({SWEEP_PROCESSES} sweeping at once)",
    )

    log(f"two sweepers at once on {scale.due:,} more due cases")
    second = add_due_cases(scale.due, seed=12, listing_offset=scale.due)
    analyze()
    outputs: list[dict] = []
    pool = [threading.Thread(target=lambda: outputs.append(run_sweep(env))) for _ in range(2)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    total = sum(referred_count(o["stdout"]) for o in outputs)
    low, high = second[0], second[-1]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM (SELECT case_id FROM counterfeits_caseevent "
            "WHERE case_id BETWEEN %s AND %s AND transition = 'expire_appeal_window' "
            "GROUP BY case_id HAVING COUNT(*) > 1) AS twice",
            [low, high],
        )
        twice_by_events = cursor.fetchone()[0]
        cursor.execute(
            "SELECT COUNT(*) FROM counterfeits_case WHERE id BETWEEN %s AND %s "
            "AND state = 'referred'",
            [low, high],
        )
        referred_now = cursor.fetchone()[0]
    twice = max(twice_by_events, total - referred_now)
    results.add(
        f"two sweepers at once on the same {scale.due:,}",
        ours=twice,
        baseline=None,
        unit="cases twice",
        goal="0",
        passed=twice == 0 and referred_now == len(second),
        note=f"sweepers referred {[referred_count(o['stdout']) for o in outputs]} "
        f"in {max(o['seconds'] for o in outputs):.1f}s; {referred_now:,} referred",
    )
    if SWEEP_PROCESSES > 1:
        measure_single_sweeper(results, env, scale, copy_seconds)


def measure_single_sweeper(
    results: Results, env: dict[str, str], scale, copy_seconds: float
) -> None:
    """The same sweep by one process, beside the timed one's COPY (reported, not a goal: the
    deployed sweep runs a process per core, see SWEEP_WORKERS)."""
    from bench.data import add_due_cases, analyze
    from listings.models import Listing

    if Listing.objects.count() < 3 * scale.due:
        log("not enough listings for a third batch of due cases: single-process sweep skipped")
        return
    log(f"one sweeper process on {scale.due:,} more due cases")
    add_due_cases(scale.due, seed=13, listing_offset=2 * scale.due)
    analyze()
    sweep = run_sweep(env, 1)
    results.add(
        f"deadline sweep, {scale.due:,} due cases, one process (reported)",
        ours=sweep["seconds"],
        baseline=copy_seconds,
        unit="s",
        goal="reported",
        passed=None,
        note=f"referred {referred_count(sweep['stdout']):,}; baseline: the timed sweep's COPY; "
        f"peak RSS {sweep['max_rss_kb'] / 1024:.0f} MB",
        reproduce="python manage.py sweep_deadlines --processes 1",
    )


def measure_audit(results: Results) -> None:
    from counterfeits.audit import EVENT_FIELDS, verify_all_chains
    from counterfeits.models import CaseEvent

    started = time.perf_counter()
    cases, events, broken = verify_all_chains()
    ours_seconds = time.perf_counter() - started
    # The same bytes the verifier hashes, built untimed; then sha256 over them in one loop.
    total_bytes, hash_seconds = 0, 0.0
    chunk: list[bytes] = []

    def hash_chunk() -> float:
        began = time.perf_counter()
        for blob in chunk:
            hashlib.sha256(blob).hexdigest()
        return time.perf_counter() - began

    for row in (
        CaseEvent.objects.order_by("case_id", "seq")
        .values(*EVENT_FIELDS)
        .iterator(chunk_size=20_000)
    ):
        content = {
            "case": row["case_id"], "seq": row["seq"], "transition": row["transition"],
            "from": row["from_state"], "to": row["to_state"], "actor": row["actor_label"],
            "role": row["actor_role"], "reason": row["reason"],
            "at": row["at"].isoformat(timespec="microseconds"), "prev": row["prev_hash"],
        }  # fmt: skip
        blob = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
        total_bytes += len(blob)
        chunk.append(blob)
        if len(chunk) >= 50_000:
            hash_seconds += hash_chunk()
            chunk = []
    hash_seconds += hash_chunk()
    ours, baseline = total_bytes / ours_seconds, total_bytes / hash_seconds
    results.add(
        f"verify_audit_chain over {events:,} events",
        ours=ours / 1e6,
        baseline=baseline / 1e6,
        unit="MB/s",
        goal=">= 0.3",
        passed=ours / baseline >= 0.3 and broken is None,
        note=f"{cases:,} chains in {ours_seconds:.1f}s, "
        f"{'intact' if broken is None else f'BROKEN: {broken}'}; hashlib {hash_seconds:.2f}s",
        reproduce="python manage.py verify_audit_chain",
    )


# --- the run -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="default", choices=["default", "small"])
    parser.add_argument("--keep", action="store_true", help="Keep the bench database afterwards.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8765")))
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 2) * 2)
    args = parser.parse_args()

    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    env = bench_env(database_url, os.environ.get("BENCH_BROKER_URL", DEFAULT_BROKER))
    os.environ.update(env)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    work = OUT_DIR / "work"
    began = time.perf_counter()
    log(f"scale {args.scale}: creating {urlsplit(database_url).path.lstrip('/')}")
    recreate_database(database_url)

    import django

    django.setup()
    from django.core.management import call_command

    from bench.data import SCALES, add_cases, add_referrals, analyze
    from bench.load import gunicorn

    scale = SCALES[args.scale]
    results = Results()
    try:
        call_command("migrate", verbosity=0)
        measure_import(results, scale, work)
        log("ring grouping")
        measure_rings(results)
        people = setup_people()

        log(f"adding the first {scale.queue_small:,} cases")
        add_cases(scale.queue_small, seed=1)
        analyze()
        with gunicorn(env, port=args.port, workers=args.workers) as address:
            small_p95, _ = queue_latency(address, people, scale.latency_samples)

        rest = scale.cases - scale.queue_small
        log(f"adding {rest:,} more cases with their events, and {scale.referrals:,} referrals")
        add_cases(rest, seed=2)
        add_referrals(scale.referrals, people["authority"])
        analyze()

        with gunicorn(env, port=args.port, workers=args.workers) as address:
            big_p95, _ = queue_latency(address, people, scale.latency_samples)
            ratio = big_p95 / small_p95
            results.add(
                f"analyst queue page /cases/ at {scale.cases:,} vs {scale.queue_small:,} cases",
                ours=big_p95 * 1000,
                baseline=small_p95 * 1000,
                unit="ms p95",
                goal="<= 2",
                passed=ratio <= 2,
                note=f"{scale.latency_samples} sequential requests each",
            )
            log("authority referral list")
            measure_referral_list(results, address, people, scale)
            log("report intake")
            measure_intake(results, address, people, scale)
        log("query counts")
        measure_queries(results, people)
        measure_sweep(results, env, scale)
        log("verify_audit_chain")
        measure_audit(results)
    finally:
        from django.db import connections
        from kombu.exceptions import OperationalError

        from config.celery import app as celery_app

        try:
            celery_app.control.purge()  # the deliveries the sweeps queued: no worker takes them
        except (OperationalError, OSError) as exc:  # a broker problem must not hide the results
            log(f"could not purge the bench broker queue: {exc}")
        connections.close_all()
        if not args.keep:
            recreate_database(database_url, drop_only=True)

    elapsed = time.perf_counter() - began
    table = results.table()
    print(table)
    summary = {
        "scale": args.scale,
        "seconds": round(elapsed, 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "results": results.rows,
    }
    (OUT_DIR / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    log(f"done in {elapsed:.0f}s; wrote {OUT_DIR / 'results.json'}")


if __name__ == "__main__":
    main()
