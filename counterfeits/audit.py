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

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from .models import Case, CaseEvent
from .roles import actor_role

GENESIS = "0" * 64


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
    content = {
        "case": case_id,
        "seq": seq,
        "transition": transition,
        "from": from_state,
        "to": to_state,
        "actor": actor_label,
        "role": actor_role,
        "reason": reason,
        "at": at.astimezone(timezone.UTC).isoformat(timespec="microseconds"),
        "prev": prev_hash,
    }
    data = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


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
    seq = last["seq"] + 1 if last else 1
    prev_hash = last["hash"] if last else GENESIS
    role = role or actor_role(actor)
    label = actor_label or (actor.get_username() if actor is not None else role)
    at = timezone.now()
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
    return CaseEvent.objects.create(
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


@dataclass(frozen=True)
class BrokenLink:
    case_id: int
    seq: int
    event_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"event {self.event_id}" if self.event_id else "a missing event"
        return f"case {self.case_id}, seq {self.seq} ({where}): {self.problem}"


def verify_events(
    case_id: int, events: Iterable[dict], case_state: str | None = None
) -> BrokenLink | None:
    """Check one case's events (dicts ordered by seq); return the first broken link or None.

    With ``case_state``, the last event must lead to the case's current state: that catches
    a deleted last event, which leaves no gap in the chain itself.
    """
    prev_hash = GENESIS
    expected_seq = 1
    last_to = None
    for ev in events:
        if ev["seq"] != expected_seq:
            return BrokenLink(case_id, expected_seq, ev["id"], f"sequence jumps to {ev['seq']}")
        if ev["prev_hash"] != prev_hash:
            return BrokenLink(case_id, ev["seq"], ev["id"], "prev_hash does not match")
        digest = event_digest(
            case_id=case_id,
            seq=ev["seq"],
            transition=ev["transition"],
            from_state=ev["from_state"],
            to_state=ev["to_state"],
            actor_label=ev["actor_label"],
            actor_role=ev["actor_role"],
            reason=ev["reason"],
            at=ev["at"],
            prev_hash=ev["prev_hash"],
        )
        if digest != ev["hash"]:
            return BrokenLink(case_id, ev["seq"], ev["id"], "content does not match its hash")
        prev_hash = ev["hash"]
        last_to = ev["to_state"]
        expected_seq += 1
    if case_state is not None and last_to != case_state:
        return BrokenLink(
            case_id,
            expected_seq,
            None,
            f"the chain ends in state {last_to!r} but the case is {case_state!r}",
        )
    return None


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


def verify_case_chain(case_id: int) -> BrokenLink | None:
    state = Case.objects.filter(pk=case_id).values_list("state", flat=True).first()
    events = CaseEvent.objects.filter(case_id=case_id).order_by("seq").values(*EVENT_FIELDS)
    return verify_events(case_id, events, state)


def verify_all_chains(chunk_size: int = 5000) -> tuple[int, int, BrokenLink | None]:
    """Stream every event in (case, seq) order; return (cases, events, first broken link)."""
    states = dict(Case.objects.values_list("pk", "state").iterator(chunk_size=chunk_size))
    cases = events_seen = 0
    current: int | None = None
    batch: list[dict] = []
    rows = CaseEvent.objects.order_by("case_id", "seq").values(*EVENT_FIELDS)
    for row in rows.iterator(chunk_size=chunk_size):
        events_seen += 1
        if row["case_id"] != current:
            if current is not None:
                broken = verify_events(current, batch, states.pop(current, None))
                if broken:
                    return cases, events_seen, broken
            current = row["case_id"]
            cases += 1
            batch = []
        batch.append(row)
    if current is not None:
        broken = verify_events(current, batch, states.pop(current, None))
        if broken:
            return cases, events_seen, broken
    for case_id in sorted(states):
        # A case with no events at all: its whole chain was deleted.
        return cases, events_seen, BrokenLink(case_id, 1, None, "the case has no events")
    return cases, events_seen, None
