"""The hash-chained case timeline: writing an event and verifying a chain.

Each event's ``hash`` is the SHA-256 of the canonical JSON of its content plus ``prev_hash``
(the previous event's hash; 64 zeros for the first). Editing, deleting or reordering a row
breaks the chain at that row.
"""

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import compress, groupby, repeat
from operator import add, eq, itemgetter, methodcaller, not_

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Count, F
from django.utils import timezone

from .models import Case, CaseEvent
from .roles import actor_role

GENESIS = "0" * 64


# The canonical JSON of an event, written out by hand with its keys in sorted order: the same
# bytes as json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False), several times
# faster, which matters when verify_audit_chain streams millions of events.
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
    Memory stays flat at any size. On PostgreSQL the events stream through ``COPY`` (see
    :func:`_verify_all_chains_postgresql`); elsewhere (SQLite for ``make run``) row by row.
    """
    if connection.vendor == "postgresql":
        return _verify_all_chains_postgresql()
    return _verify_all_chains_portable(chunk_size)


def _first_broken(
    rows: Iterable[tuple], states: dict[int, str]
) -> Iterator[tuple[int, int, BrokenLink | None]]:
    """For each case of ``rows`` (tuples of _ROW_FIELDS in (case, seq) order): (case id, its
    number of events, its first broken link or None), checked against its state in ``states``."""
    for case_id, group in groupby(rows, key=itemgetter(0)):
        chain = list(group)
        yield case_id, len(chain), _check_chain(case_id, chain, states.get(case_id))


def _verify_all_chains_portable(chunk_size: int) -> tuple[int, int, BrokenLink | None]:
    """Stream every event in (case, seq) order through a server-side cursor, as tuples."""
    states = dict(Case.objects.values_list("pk", "state").iterator(chunk_size=chunk_size))
    rows = CaseEvent.objects.order_by("case_id", "seq").values_list(*_ROW_FIELDS)
    cases = events_seen = 0
    for case_id, count, broken in _first_broken(rows.iterator(chunk_size=chunk_size), states):
        states.pop(case_id, None)
        cases += 1
        events_seen += count
        if broken:
            return cases, events_seen, broken
    for case_id in sorted(states):
        # A case with no events at all: its whole chain was deleted.
        return cases, events_seen, BrokenLink(case_id, 1, None, "the case has no events")
    return cases, events_seen, None


# --- PostgreSQL: the same checks, with PostgreSQL and Python working side by side ---------------
#
# PostgreSQL writes one line per event through COPY (on its own core):
#     hash TAB prev_hash TAB seq TAB case_id TAB (to_state = the case's state) TAB canonical
# where canonical is CANONICAL_FIELDS concatenated with their values put in *raw*, without JSON
# escaping (PostgreSQL's to_json() per field would cost more than everything else). For a
# value without '"', '\' and control characters that is exactly canonical_event()'s bytes. Python
# only hashes the canonical and compares neighbours' fields; whatever looks wrong (a hash that
# does not match, a link, a sequence, a final state; or a value that needs escaping: a '"' too
# many in the line, or a backslash, which is how COPY writes tabs, newlines and backslashes)
# only makes the case a *suspect*. Each suspect is then checked again by _check_chain() on its
# rows read through the ORM, in the same snapshot: the report comes from the one definition.
#
# Control characters COPY leaves as they are (\x01 ...; it writes \b \f \n \r \t \v with a
# backslash) need escaping too: a line holding one is a suspect. (Their hash matches no event
# canonical_event() wrote, but a hash taken over the unescaped bytes would match.)

_PG_BATCH = 200_000  # events per COPY; the suspects of one are checked before the next
# Lines checked together: few enough that PostgreSQL writes the next ones into the socket
# meanwhile (2000 left it waiting: 20-25% slower end to end).
_CHUNK_LINES = 250
_SUSPECTS_PER_QUERY = 500
_LINE_QUOTES = sum(4 if is_text else 2 for _, _, is_text in CANONICAL_FIELDS)
_GENESIS_BYTES = GENESIS.encode()
# The control characters COPY writes raw: every byte below 0x20 but its own tab and newline.
_RAW_CONTROLS = bytes(c for c in range(0x20) if c not in b"\t\n")
_hexdigest = methodcaller("hexdigest")


def _pg_canonical_sql() -> str:
    """canonical_event()'s template as a PostgreSQL expression over ``e``, values put in raw."""
    parts, literal = [], "{"
    for key, column, is_text in CANONICAL_FIELDS:
        literal += f'"{key}":' + ('"' if is_text else "")
        parts.append(f"'{literal}'")
        if column == "at":
            # In UTC (the session's time zone, set below), as isoformat(timespec="microseconds").
            parts.append("""to_char(e.at, 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')""")
        else:
            parts.append(f"e.{column}")
        literal = ('"' if is_text else "") + ","
    parts.append(f"'{literal[:-1]}}}'")
    return f"concat({', '.join(parts)})"


class _CopyChecker:
    """The file COPY writes its lines to: checks them in chunks, collects the suspect cases."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.suspects: list[bytes] = []
        self.events = 0
        self.closed = 0  # cases whose last event has been read
        # The case being read: its id, last seq, last hash, whether its last event leads to
        # the case's state ('t'), its number of events so far, and whether a link is broken.
        self.case: bytes | None = None
        self.seq = self.hash = b""
        self.at_state = b"t"
        self.count = 0
        self.broken = False

    def write(self, line: bytes) -> None:
        lines = self.lines
        lines.append(line)
        if len(lines) >= _CHUNK_LINES:
            self.check()

    def close_case(self) -> None:
        """The case being read has no more events: its last one must lead to the case's state,
        and its seqs (unique and ascending, the first one 1) must end at its number of events."""
        if self.broken or self.at_state != b"t" or int(self.seq) != self.count:
            self.suspects.append(self.case)  # type: ignore[arg-type]
        self.closed += 1

    def check(self) -> None:
        lines, self.lines = self.lines, []
        if not lines:
            return
        self.events += len(lines)
        blob = b"".join(lines)
        fields = blob.replace(b"\n", b"\t").split(b"\t")
        fields.pop()  # after the last newline
        hashes, canonicals, cases = fields[0::6], fields[5::6], fields[3::6]
        if (
            b"\\" not in blob
            and blob.count(b'"') == _LINE_QUOTES * len(lines)
            and len(blob.translate(None, _RAW_CONTROLS)) == len(blob)
        ):
            # No value in the chunk needs escaping: every canonical is exact; hash them all.
            computed = "".join(map(_hexdigest, map(hashlib.sha256, canonicals)))
            if computed.encode() != b"".join(hashes):
                self._hash_suspects(hashes, cases, canonicals)
        else:
            self._hash_suspects(hashes, cases, canonicals)
        columns = (hashes, fields[1::6], fields[2::6], cases, fields[4::6])
        if not self._links_hold(*columns):
            self._link_suspects(*columns)

    def _links_hold(
        self, hashes: list, prevs: list, seqs: list, cases: list, at_states: list
    ) -> bool:
        """Whether every link of the chunk holds, compared a column at a time (no Python per
        event); if so the state moves on to its last event. Otherwise _link_suspects looks."""
        same_case = list(map(eq, cases, [self.case, *cases[:-1]]))
        # Within a case each event links to the one before and the seq grows by one.
        if same_case != list(map(eq, prevs, [self.hash, *hashes[:-1]])):
            return False
        numbers = list(map(int, seqs))
        before = int(self.seq) if self.seq else -1
        if same_case != list(map(eq, numbers, map(add, [before, *numbers[:-1]], repeat(1)))):
            return False
        # A case begins with seq 1 and GENESIS; the case before it ends in the case's state.
        starts = list(map(not_, same_case))
        first_prevs = list(compress(prevs, starts))
        first_seqs = list(compress(seqs, starts))
        ends = list(compress([self.at_state, *at_states[:-1]], starts))
        if (
            first_prevs.count(_GENESIS_BYTES) != len(first_prevs)
            or first_seqs.count(b"1") != len(first_seqs)
            or ends.count(b"t") != len(ends)
        ):
            return False
        if first_seqs:
            self.closed += len(first_seqs) - (self.case is None)
            self.count = starts[::-1].index(True) + 1
            self.broken = False
        else:
            self.count += len(starts)
        self.case, self.seq, self.hash, self.at_state = (
            cases[-1],
            seqs[-1],
            hashes[-1],
            at_states[-1],
        )
        return True

    def _hash_suspects(self, hashes: list, cases: list, canonicals: list) -> None:
        """The case of each event whose canonical needs escaping or does not match its hash."""
        sha256 = hashlib.sha256
        for digest, case, canonical in zip(hashes, cases, canonicals, strict=True):
            if (
                b"\\" in canonical
                or canonical.count(b'"') != _LINE_QUOTES
                or len(canonical.translate(None, _RAW_CONTROLS)) != len(canonical)
                or sha256(canonical).hexdigest().encode() != digest
            ):
                self.suspects.append(case)

    def _link_suspects(
        self, hashes: list, prevs: list, seqs: list, cases: list, at_states: list
    ) -> None:
        """_check_chain's other checks: the sequence, the links, the final state."""
        case, seq, digest, at_state = self.case, self.seq, self.hash, self.at_state
        count, broken = self.count, self.broken
        for this_hash, prev, this_seq, this_case, this_at_state in zip(
            hashes, prevs, seqs, cases, at_states, strict=True
        ):
            if this_case == case:
                count += 1
                if prev != digest:
                    broken = True
            else:
                if count:
                    self.case, self.seq, self.at_state = case, seq, at_state
                    self.count, self.broken = count, broken
                    self.close_case()
                case, count = this_case, 1
                broken = this_seq != b"1" or prev != _GENESIS_BYTES
            seq, digest, at_state = this_seq, this_hash, this_at_state
        self.case, self.seq, self.hash, self.at_state = case, seq, digest, at_state
        self.count, self.broken = count, broken


def _verify_all_chains_postgresql() -> tuple[int, int, BrokenLink | None]:
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        try:
            with connection.cursor() as cursor:
                if outermost:
                    # One snapshot for the stream and for the second look at its suspects.
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                # SET LOCAL: until the transaction ends, or the savepoint if nested (rolled
                # back below). The plan wanted streams: one merge join in the order of the
                # (case, seq) index, where the planner would rather sort a batch it thinks small
                # (on disk, before the first line) or take a parallel hash join.
                cursor.execute(
                    "SET LOCAL TIME ZONE 'UTC'; SET LOCAL jit = off; "
                    "SET LOCAL enable_sort = off; SET LOCAL enable_incremental_sort = off; "
                    "SET LOCAL max_parallel_workers_per_gather = 0"
                )
                return _pg_verify(cursor)
        finally:
            transaction.set_rollback(True)  # nothing was written


def _pg_verify(cursor) -> tuple[int, int, BrokenLink | None]:  # noqa: ANN001 - a DB-API cursor
    # Table names and our own expression only.
    select = (
        "SELECT e.hash, e.prev_hash, e.seq, e.case_id, e.to_state = c.state, "  # noqa: S608
        f"{_pg_canonical_sql()} FROM {CaseEvent._meta.db_table} e "
        f"JOIN {Case._meta.db_table} c ON c.id = e.case_id"
    )
    cases = events = 0
    since = 0  # every case below this id is checked
    while True:
        checker = _CopyChecker()
        cursor.copy_expert(
            f"COPY ({select} WHERE e.case_id >= {since} AND c.id >= {since} "
            f"ORDER BY e.case_id, e.seq LIMIT {_PG_BATCH}) TO STDOUT",
            checker,
        )
        checker.check()
        finished = checker.events < _PG_BATCH
        if finished or not checker.closed:
            # The last case is whole; or it alone filled the batch: check it the slow way.
            if not finished:
                checker.suspects.append(checker.case)  # type: ignore[arg-type]
                whole = CaseEvent.objects.filter(case_id=int(checker.case)).count()  # type: ignore[arg-type]
                checker.events += whole - checker.count
            if checker.count:
                checker.close_case()
            since = int(checker.case or 0) + 1
        else:
            # The batch ended inside its last case: the next batch reads that case again.
            checker.events -= checker.count
            since = int(checker.case)  # type: ignore[arg-type]
        broken = _check_suspects(sorted({int(case) for case in checker.suspects}))
        if broken is not None:
            return (*_counts_through(broken.case_id), broken)
        cases += checker.closed
        events += checker.events
        if finished:
            return cases, events, _case_without_events(cases)


def _check_suspects(case_ids: list[int]) -> BrokenLink | None:
    """The first broken link of these cases (ascending ids), by _check_chain on their rows."""
    for start in range(0, len(case_ids), _SUSPECTS_PER_QUERY):
        batch = case_ids[start : start + _SUSPECTS_PER_QUERY]
        states = dict(Case.objects.filter(pk__in=batch).values_list("pk", "state"))
        rows = (
            CaseEvent.objects.filter(case_id__in=batch)
            .order_by("case_id", "seq")
            .values_list(*_ROW_FIELDS)
        )
        for _, _, broken in _first_broken(rows.iterator(chunk_size=5000), states):
            if broken:
                return broken
    return None


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
