"""The hash-chained case timeline: writing an event and verifying a chain.

Each event's ``hash`` is the SHA-256 of the canonical JSON of its content plus ``prev_hash``
(the previous event's hash; 64 zeros for the first). Editing, deleting or reordering a row
breaks the chain at that row.
"""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from operator import itemgetter

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Count, F
from django.utils import timezone

from config.bulk import insert_rows

from .models import Case, CaseEvent
from .roles import actor_role

GENESIS = "0" * 64


# (key, CaseEvent column, whether the value is a JSON string), in the order of the keys: the
# Python template below and PostgreSQL's concatenation in _pg_canonical_sql() both come from it.
CANONICAL_FIELDS = (
    ("actor", "actor_label", True),
    ("at", "at", True),
    ("case", "case_id", False),
    ("from", "from_state", True),
    ("prev", "prev_hash", True),
    ("reason", "reason", True),
    ("role", "actor_role", True),
    ("seq", "seq", False),
    ("to", "to_state", True),
    ("transition", "transition", True),
)

# The canonical JSON of an event, written out by hand with its keys in sorted order: the same
# bytes as json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False), several times
# faster, which matters when verify_audit_chain streams millions of events.
_quote = json.encoder.encode_basestring  # type: ignore[attr-defined]
_TEMPLATE = "{%s}" % ",".join(  # noqa: UP031 - a %-template built from the field list
    f'"{key}":{"%s" if is_text else "%d"}' for key, _, is_text in CANONICAL_FIELDS
)
_UTC = timezone.UTC


def _iso(at: datetime) -> str:
    if at.tzinfo is not _UTC:
        at = at.astimezone(_UTC)
    return at.isoformat(timespec="microseconds")


def canonical_event(
    case_id: int,
    seq: int,
    transition: str,
    from_state: str,
    to_state: str,
    actor_label: str,
    actor_role: str,
    reason: str,
    at: datetime,
    prev_hash: str,
) -> bytes:
    """The bytes an event's hash is taken over (sorted keys, no spaces, UTF-8)."""
    return (
        _TEMPLATE
        % (
            _quote(actor_label),
            _quote(_iso(at)),
            case_id,
            _quote(from_state),
            _quote(prev_hash),
            _quote(reason),
            _quote(actor_role),
            seq,
            _quote(to_state),
            _quote(transition),
        )
    ).encode("utf-8")


def event_digest(
    *,
    case_id: int,
    seq: int,
    transition: str,
    from_state: str,
    to_state: str,
    actor_label: str,
    actor_role: str,
    reason: str,
    at: datetime,
    prev_hash: str,
) -> str:
    data = canonical_event(
        case_id, seq, transition, from_state, to_state, actor_label, actor_role, reason, at,
        prev_hash,
    )  # fmt: skip
    return hashlib.sha256(data).hexdigest()


# The columns of an event written as a row (:func:`event_row`, :func:`insert_events`).
EVENT_ROW_FIELDS = (
    "case_id", "seq", "transition", "from_state", "to_state", "actor_id", "actor_label",
    "actor_role", "reason", "at", "prev_hash", "hash",
)  # fmt: skip


def event_row(
    case_id: int,
    seq: int,
    transition: str,
    from_state: str,
    to_state: str,
    *,
    actor_id: int | None,
    actor_label: str,
    actor_role: str,
    reason: str,
    at: datetime,
    prev_hash: str,
) -> tuple:
    """An event as a tuple of :data:`EVENT_ROW_FIELDS`, its hash chained after ``prev_hash``:
    what :func:`new_event` makes, without a model instance (the sweep writes thousands)."""
    digest = event_digest(
        case_id=case_id, seq=seq, transition=transition, from_state=from_state,
        to_state=to_state, actor_label=actor_label, actor_role=actor_role, reason=reason, at=at,
        prev_hash=prev_hash,
    )  # fmt: skip
    return (
        case_id, seq, transition, from_state, to_state, actor_id, actor_label, actor_role,
        reason, at, prev_hash, digest,
    )  # fmt: skip


def insert_events(rows: list[tuple]) -> None:
    """Write events made by :func:`event_row`, in one statement (``config.bulk.insert_rows``)."""
    insert_rows(CaseEvent, EVENT_ROW_FIELDS, rows)


def new_event(
    case: Case,
    transition: str,
    *,
    seq: int,
    prev_hash: str,
    from_state: str,
    actor: AbstractBaseUser | None,
    reason: str = "",
    role: str | None = None,
    actor_label: str | None = None,
    at: datetime | None = None,
) -> CaseEvent:
    """An unsaved event leading to ``case.state``, chained after (``seq - 1``, ``prev_hash``).

    For batches (the sweep), which bulk-create many; one at a time, use :func:`record_event`.
    """
    role = role or actor_role(actor)
    label = actor_label or (actor.get_username() if actor is not None else role)
    at = at or timezone.now()
    digest = event_digest(
        case_id=case.pk,
        seq=seq,
        transition=transition,
        from_state=from_state,
        to_state=case.state,
        actor_label=label,
        actor_role=role,
        reason=reason,
        at=at,
        prev_hash=prev_hash,
    )
    return CaseEvent(
        case_id=case.pk,
        seq=seq,
        transition=transition,
        from_state=from_state,
        to_state=case.state,
        actor=actor,
        actor_label=label,
        actor_role=role,
        reason=reason,
        at=at,
        prev_hash=prev_hash,
        hash=digest,
    )


def record_event(
    case: Case,
    transition: str,
    *,
    from_state: str,
    actor: AbstractBaseUser | None,
    reason: str = "",
    role: str | None = None,
    actor_label: str | None = None,
) -> CaseEvent:
    """Append one event to the case's chain. Call inside the transaction holding the case lock."""
    last = CaseEvent.objects.filter(case_id=case.pk).order_by("-seq").values("seq", "hash").first()
    event = new_event(
        case,
        transition,
        seq=last["seq"] + 1 if last else 1,
        prev_hash=last["hash"] if last else GENESIS,
        from_state=from_state,
        actor=actor,
        reason=reason,
        role=role,
        actor_label=actor_label,
    )
    event.save(force_insert=True)
    return event


@dataclass(frozen=True)
class BrokenLink:
    case_id: int
    seq: int
    event_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"event {self.event_id}" if self.event_id else "a missing event"
        return f"case {self.case_id}, seq {self.seq} ({where}): {self.problem}"


EVENT_FIELDS = (
    "id",
    "case_id",
    "seq",
    "transition",
    "from_state",
    "to_state",
    "actor_label",
    "actor_role",
    "reason",
    "at",
    "prev_hash",
    "hash",
)
# The same fields as tuples, in the order _check_chain unpacks them: the id goes last.
_ROW_FIELDS = (*EVENT_FIELDS[1:], "id")


def _check_chain(case_id: int, rows: Iterable[tuple], case_state: str | None) -> BrokenLink | None:
    """Check one case's events (tuples of _ROW_FIELDS, in seq order): the first broken link.

    With ``case_state``, the last event must lead to the case's current state: that catches
    a deleted last event, which leaves no gap in the chain itself.
    """
    sha256 = hashlib.sha256
    prev_hash = GENESIS
    expected = 1
    last_to = None
    for _, seq, transition, from_state, to_state, label, role, reason, at, prev, digest, pk in rows:
        if seq != expected:
            return BrokenLink(case_id, expected, pk, f"sequence jumps to {seq}")
        if prev != prev_hash:
            return BrokenLink(case_id, seq, pk, "prev_hash does not match")
        data = canonical_event(
            case_id, seq, transition, from_state, to_state, label, role, reason, at, prev
        )
        if sha256(data).hexdigest() != digest:
            return BrokenLink(case_id, seq, pk, "content does not match its hash")
        prev_hash = digest
        last_to = to_state
        expected += 1
    if case_state is not None and last_to != case_state:
        return BrokenLink(
            case_id,
            expected,
            None,
            f"the chain ends in state {last_to!r} but the case is {case_state!r}",
        )
    return None


def verify_events(
    case_id: int, events: Iterable[dict], case_state: str | None = None
) -> BrokenLink | None:
    """Check one case's events (dicts of EVENT_FIELDS ordered by seq): the first broken link."""
    rows = (tuple(ev[name] if name != "case_id" else case_id for name in _ROW_FIELDS)
            for ev in events)  # fmt: skip
    return _check_chain(case_id, rows, case_state)


def read_case_chain(case_id: int) -> tuple[list[dict], BrokenLink | None]:
    """One case's events (dicts of EVENT_FIELDS) and its first broken link, if any.

    The events and the case's state come from one statement: read apart, a transition that
    commits between the two reads would look like a broken chain.
    """
    events = list(
        CaseEvent.objects.filter(case_id=case_id)
        .order_by("seq")
        .annotate(case_state=F("case__state"))
        .values(*EVENT_FIELDS, "case_state")
    )
    if events:
        state = events[0]["case_state"]
    else:
        state = Case.objects.filter(pk=case_id).values_list("state", flat=True).first()
    return events, verify_events(case_id, events, state)


def verify_case_chain(case_id: int) -> BrokenLink | None:
    return read_case_chain(case_id)[1]


def verify_all_chains(chunk_size: int = 5000) -> tuple[int, int, BrokenLink | None]:
    """Check every case's chain; return (cases, events, first broken link).

    Cases are taken in id order and the first broken link is the one :func:`_check_chain` finds
    in the first broken case; only when every chain holds, a case without any event is named.
    ``cases`` and ``events`` count the cases with events (and their events) up to that point.
    Memory stays flat at any size. On PostgreSQL one set-based statement checks every event in
    parallel workers (see :func:`_pg_check_sql`); elsewhere (SQLite for ``make run``) the events
    stream row by row.
    """
    if connection.vendor == "postgresql":
        return _verify_all_chains_postgresql()
    return _verify_all_chains_portable(chunk_size)


def _verify_all_chains_portable(chunk_size: int) -> tuple[int, int, BrokenLink | None]:
    """Stream every event in (case, seq) order through a server-side cursor, as tuples."""
    states = dict(Case.objects.values_list("pk", "state").iterator(chunk_size=chunk_size))
    rows = CaseEvent.objects.order_by("case_id", "seq").values_list(*_ROW_FIELDS)
    cases = events_seen = 0
    for case_id, group in groupby(rows.iterator(chunk_size=chunk_size), key=itemgetter(0)):
        chain = list(group)
        cases += 1
        events_seen += len(chain)
        broken = _check_chain(case_id, chain, states.pop(case_id, None))
        if broken:
            return cases, events_seen, broken
    for case_id in sorted(states):
        # A case with no events at all: its whole chain was deleted.
        return cases, events_seen, BrokenLink(case_id, 1, None, "the case has no events")
    return cases, events_seen, None


# --- PostgreSQL: the same checks as one set-based statement, in parallel workers ----------------
#
# One aggregate over every event, joined to its case and to its successor (same case, seq + 1),
# runs in PostgreSQL's parallel workers; Python does nothing per event. An event is *bad* when
#   - its hash is not the SHA-256 of its canonical bytes (built by _pg_canonical_sql(): values
#     put in raw, or through to_json() -- the same escaping as canonical_event() -- when one of
#     them holds '"', '\' or a control character);
#   - its seq is below 1, or it is seq 1 and its prev_hash is not GENESIS;
#   - it has a successor whose prev_hash is not its hash;
#   - it has no successor (it is the case's last event) and does not lead to the case's state.
# Sequence gaps need no join: every case with events has at least one event without successor
# and at most one seq 1, so there are as many of each (events - linked = firsts) only when every
# case runs 1..n; otherwise one GROUP BY names the cases that do not.
# The lowest case that fails is read again through the ORM and _check_chain() reports its first
# broken link, in the same snapshot: the report comes from the one definition.

# The characters canonical_event() escapes (json.encoder.encode_basestring), as a regex.
_NEEDS_ESCAPING = r'[\x01-\x1f"\\]'


def _pg_canonical_sql(*, escaped: bool = False) -> str:
    """canonical_event()'s template as a PostgreSQL expression over ``e``: values put in raw
    (the same bytes for values without '"', '\\' and control characters), or ``escaped`` by
    to_json() (the same bytes for every value, and several times slower)."""
    parts, literal = [], "{"
    for key, column, is_text in CANONICAL_FIELDS:
        raw = is_text and (column == "at" or not escaped)
        literal += f'"{key}":' + ('"' if raw else "")
        parts.append(f"'{literal}'")
        literal = ('"' if raw else "") + ","
        if column == "at":
            # In UTC (the session's time zone, set below), as isoformat(timespec="microseconds");
            # the constant offset goes in the next literal: in to_char's format each of its
            # characters costs (0.15 of to_char's 0.7 us an event).
            parts.append("""to_char(e.at, 'YYYY-MM-DD"T"HH24:MI:SS.US')""")
            literal = "+00:00" + literal
        elif is_text and escaped:
            parts.append(f"to_json(e.{column})::text")
        else:
            parts.append(f"e.{column}")
    parts.append(f"'{literal[:-1]}}}'")
    return f"concat({', '.join(parts)})"


def _pg_check_sql() -> str:
    """The statement: (events, events with a successor, events with seq 1, lowest bad case)."""
    # prev_hash is left out of the test: one that is not hex fails its link (or GENESIS) anyway.
    free_text = " || ".join(
        f"e.{column}"
        for _, column, is_text in CANONICAL_FIELDS
        if is_text and column not in ("at", "prev_hash")
    )
    digest = "encode(sha256(convert_to({}, 'UTF8')), 'hex')"
    # Table names and our own expressions only.
    return f"""
        SELECT count(*), count(s.seq), count(*) FILTER (WHERE e.seq = 1),
            min(e.case_id) FILTER (WHERE
                e.seq < 1
                OR (e.seq = 1 AND e.prev_hash <> %(genesis)s)
                OR (s.seq IS NOT NULL AND s.prev_hash <> e.hash)
                OR (s.seq IS NULL AND e.to_state <> c.state)
                OR e.hash <> CASE WHEN ({free_text}) ~ %(needs_escaping)s
                    THEN {digest.format(_pg_canonical_sql(escaped=True))}
                    ELSE {digest.format(_pg_canonical_sql())} END)
        FROM {CaseEvent._meta.db_table} e
        JOIN {Case._meta.db_table} c ON c.id = e.case_id
        LEFT JOIN {CaseEvent._meta.db_table} s ON s.case_id = e.case_id AND s.seq = e.seq + 1
    """  # noqa: S608


def _verify_all_chains_postgresql() -> tuple[int, int, BrokenLink | None]:
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        try:
            with connection.cursor() as cursor:
                if outermost:
                    # One snapshot for the statement and for the second look at a failing case.
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                # SET LOCAL: until the transaction ends, or the savepoint if nested (rolled
                # back below). No JIT: compiling the expressions saves nothing measurable.
                # work_mem (VERIFY_WORK_MEM): a parallel hash may take it x hash_mem_multiplier
                # (2) x processes (3): at the default 128MB, 768MB for each of the two hashes at
                # most. 128MB holds the successor join of ~5M events in memory; at 16MB 2.8M
                # events made 16 batches, the wide outer rows written to temp files and read
                # back (~1GB of temp I/O, the joins 10.7 s against 5.8 s). Beyond that it
                # batches: bounded at any size.
                cursor.execute(
                    "SET LOCAL TIME ZONE 'UTC'; SET LOCAL jit = off; SET LOCAL work_mem = %s",
                    [settings.VERIFY_WORK_MEM],
                )
                return _pg_verify(cursor)
        finally:
            transaction.set_rollback(True)  # nothing was written


def _pg_verify(cursor) -> tuple[int, int, BrokenLink | None]:  # noqa: ANN001 - a DB-API cursor
    cursor.execute(_pg_check_sql(), {"genesis": GENESIS, "needs_escaping": _NEEDS_ESCAPING})
    events, linked, firsts, first_bad = cursor.fetchone()
    failing = [] if first_bad is None else [first_bad]
    if events - linked != firsts:
        # Some case does not run 1..n: a gap, or no seq 1.
        cursor.execute(
            f"SELECT case_id FROM {CaseEvent._meta.db_table} GROUP BY case_id "  # noqa: S608
            "HAVING count(*) <> max(seq) OR min(seq) <> 1 ORDER BY case_id LIMIT 1"
        )
        failing += [case_id for (case_id,) in cursor.fetchall()]
    if failing:
        broken = verify_case_chain(min(failing))
        if broken is None:
            # The statement and _check_chain disagree (neither should): the portable path decides.
            return _verify_all_chains_portable(5000)
        return (*_counts_through(broken.case_id), broken)
    # Every case with events has exactly one seq 1.
    return firsts, events, _case_without_events(firsts)


def _counts_through(case_id: int) -> tuple[int, int]:
    """(cases with events, events) up to and including ``case_id``."""
    counts = CaseEvent.objects.filter(case_id__lte=case_id).aggregate(
        cases=Count("case_id", distinct=True), events=Count("pk")
    )
    return counts["cases"], counts["events"]


def _case_without_events(cases_with_events: int) -> BrokenLink | None:
    """The first case that has no events at all (its whole chain was deleted), if any."""
    if Case.objects.count() == cases_with_events:
        return None
    empty = Case.objects.filter(events__isnull=True).order_by("pk").values_list("pk", flat=True)
    case_id = empty.first()
    return BrokenLink(case_id, 1, None, "the case has no events") if case_id else None
