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

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F
from django.utils import timezone

from config.bulk import insert_rows

from .models import Case, CaseEvent
from .roles import actor_role

GENESIS = "0" * 64


# The canonical JSON of an event, written out by hand with its keys in sorted order: the same
# bytes as json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False), several times
# faster, which matters when verify_audit_chain streams millions of events.
_quote = json.encoder.encode_basestring  # type: ignore[attr-defined]
_TEMPLATE = (
    '{"actor":%s,"at":%s,"case":%d,"from":%s,"prev":%s,'
    '"reason":%s,"role":%s,"seq":%d,"to":%s,"transition":%s}'
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
    data = canonical_event(
        case_id, seq, transition, from_state, to_state, actor_label, actor_role, reason, at,
        prev_hash,
    )  # fmt: skip
    digest = hashlib.sha256(data).hexdigest()
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
    """Stream every event in (case, seq) order; return (cases, events, first broken link).

    Rows come as tuples through a server-side cursor, so memory stays flat at any size.
    """
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
