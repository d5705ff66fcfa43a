"""verify_all_chains on PostgreSQL (one set-based statement, canonical bytes built by
PostgreSQL) gives the same results as the portable path (row by row through the ORM, as on
SQLite) on awkward text, on timestamps with and without microseconds, on every kind of tampering
and in a parallel plan."""

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from django.db import connection, transaction
from django.db.models import F

from counterfeits import audit
from counterfeits.audit import GENESIS, canonical_event, new_event
from counterfeits.models import Case, CaseEvent
from tests.factories import CaseFactory

AWKWARD = [
    'a "quoted" word',
    "back\\slash",
    '\\"',
    "tab\there",
    "two\nlines\r\n",
    "control \x01 \x08 \x0b \x0c \x1b \x1f \x7f",
    "emoji 😀 and ünïcödé €",
    "line\u2028separator\u2029",
    '","role":"x',
    "",
    "\\N",
    "</script>",
]
# Values PostgreSQL's raw concatenation must write exactly as canonical_event: no escaping needed.
UNUSUAL = ["emoji 😀", "ünïcödé €", "line\u2028separator\u2029", "del \x7f", "</script> & ' <"]
ATS = [
    datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),  # no microseconds
    datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC),  # trailing zeros
    datetime(2026, 3, 4, 5, 6, 7, 654321, tzinfo=UTC),
    datetime(2026, 6, 1, 23, 30, 0, 1, tzinfo=timezone(timedelta(hours=2))),  # not UTC
    datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),  # a three-digit year
]


def add_chain(case: Case, steps: list[dict]) -> list[CaseEvent]:
    """Events through made-up states to the case's own, each step's fields as given."""
    events, prev = [], GENESIS
    for seq, step in enumerate(steps, start=1):
        state = case.state if seq == len(steps) else f"state {seq}"
        event = new_event(
            SimpleNamespace(pk=case.pk, state=state),  # type: ignore[arg-type]
            step.get("transition", "step"),
            seq=seq,
            prev_hash=prev,
            from_state=step.get("from_state", ""),
            actor=None,
            reason=step.get("reason", ""),
            role=step.get("role", "system"),
            actor_label=step.get("label", "system"),
            at=step.get("at", ATS[seq % len(ATS)]),
        )
        event.save(force_insert=True)
        events.append(event)
        prev = event.hash
    return events


def awkward_steps(offset: int) -> list[dict]:
    steps = []
    for n in range(4):
        text = AWKWARD[(offset + n) % len(AWKWARD)]
        steps.append(
            {
                "reason": text,
                "label": AWKWARD[(offset + n + 3) % len(AWKWARD)][:150] or "someone",
                "transition": AWKWARD[(offset + n + 5) % len(AWKWARD)][:40],
                "from_state": AWKWARD[(offset + n + 7) % len(AWKWARD)][:20],
                "role": AWKWARD[(offset + n + 9) % len(AWKWARD)][:20],
                "at": ATS[(offset + n) % len(ATS)],
            }
        )
    return steps


@pytest.fixture
def chains(db):
    """Cases in id order: a plain one, one per awkward offset, a plain one; all intact."""
    cases = []
    plain = [{"reason": "opened"}, {"reason": "confirmed"}, {"reason": "closed"}]
    unusual = [
        {"reason": text, "label": text, "transition": text[:40], "from_state": text[:20], "at": at}
        for text, at in zip(UNUSUAL, ATS, strict=True)
    ]
    awkward = [awkward_steps(offset) for offset in range(len(AWKWARD))]
    for steps in [plain, unusual, *awkward, plain]:
        case = CaseFactory()
        add_chain(case, steps)
        cases.append(case)
    return cases


def both_paths() -> tuple:
    fast = audit._verify_all_chains_postgresql()
    portable = audit._verify_all_chains_portable(chunk_size=7)
    assert fast == portable
    return fast


def events_of(case: Case) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case=case).order_by("seq"))


def test_intact_awkward_chains_verify_on_both_paths(chains):
    cases, events, broken = both_paths()

    assert broken is None
    assert (cases, events) == (len(chains), CaseEvent.objects.count())
    assert audit.verify_all_chains() == (cases, events, None)


def test_postgresql_canonical_is_canonical_event_unless_a_value_needs_escaping(chains):
    def needs_escaping(*values: str) -> bool:
        return any(c in '"\\' or ord(c) < 0x20 for value in values for c in value)

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL TIME ZONE 'UTC'")
        sql = f"SELECT e.id, {audit._pg_canonical_sql()} FROM counterfeits_caseevent e"  # noqa: S608
        cursor.execute(sql)
        built = {pk: text.encode() for pk, text in cursor.fetchall()}
        transaction.set_rollback(True)
    exact = raw = 0
    for event in CaseEvent.objects.all():
        fields = (event.transition, event.from_state, event.to_state, event.actor_label)
        fields += (event.actor_role, event.reason)
        expected = canonical_event(event.case_id, event.seq, *fields, event.at, event.prev_hash)
        assert hashlib.sha256(expected).hexdigest() == event.hash
        if needs_escaping(*fields):
            raw += 1
            assert built[event.pk] != expected
        else:
            exact += 1
            assert built[event.pk] == expected
    # both kinds are covered
    assert exact >= len(UNUSUAL) + 4
    assert raw >= len(AWKWARD) * 3


def tamper_reason(case):
    CaseEvent.objects.filter(pk=events_of(case)[1].pk).update(reason='edited "\\\n😀')


def tamper_actor(case):
    CaseEvent.objects.filter(pk=events_of(case)[0].pk).update(actor_label="somebody\telse")


def tamper_at(case):
    event = events_of(case)[2]
    CaseEvent.objects.filter(pk=event.pk).update(at=event.at + timedelta(microseconds=1))


def tamper_escaped_to_raw(case):
    # '"' -> '\\"': raw, the new value would write the old one's JSON; it must still be caught.
    event = next((e for e in events_of(case) if '"' in e.reason), events_of(case)[0])
    reason = event.reason.replace('"', '\\"') if '"' in event.reason else event.reason + '\\"'
    CaseEvent.objects.filter(pk=event.pk).update(reason=reason)


def delete_middle(case):
    CaseEvent.objects.filter(pk=events_of(case)[1].pk).delete()


def delete_first(case):
    CaseEvent.objects.filter(pk=events_of(case)[0].pk).delete()


def delete_last(case):
    CaseEvent.objects.filter(pk=events_of(case)[-1].pk).delete()


def delete_all(case):
    CaseEvent.objects.filter(case=case).delete()


def reorder(case):
    second, third = events_of(case)[1:3]
    with transaction.atomic():
        CaseEvent.objects.filter(pk=second.pk).update(seq=1000)
        CaseEvent.objects.filter(pk=third.pk).update(seq=2)
        CaseEvent.objects.filter(pk=second.pk).update(seq=3)


def wrong_prev_hash(case):
    CaseEvent.objects.filter(pk=events_of(case)[2].pk).update(prev_hash="f" * 64)


def uppercase_hash(case):
    event = events_of(case)[1]
    CaseEvent.objects.filter(pk=event.pk).update(hash=event.hash.upper())


def renumbered(case):
    # Every event after the first moved up by ten: a gap the seq check reports first.
    CaseEvent.objects.filter(case=case, seq__gte=2).update(seq=F("seq") + 10)


def state_changed(case):
    Case.objects.filter(pk=case.pk).update(state="dismissed")


TAMPERINGS = [
    tamper_reason, tamper_actor, tamper_at, tamper_escaped_to_raw, delete_middle, delete_first,
    delete_last, delete_all, reorder, wrong_prev_hash, uppercase_hash, renumbered, state_changed,
]  # fmt: skip


@pytest.mark.parametrize("tamper", TAMPERINGS, ids=lambda tamper: tamper.__name__)
@pytest.mark.parametrize("which", [1, 5, -1])
def test_each_tampering_is_reported_alike_on_both_paths(chains, tamper, which):
    # given an awkward chain (or the last, plain one) tampered with, later chains intact
    tamper(chains[which])

    cases, events, broken = both_paths()

    assert broken is not None
    assert broken.case_id == chains[which].pk


def test_the_first_broken_case_is_named_and_a_case_without_events_only_last(chains):
    delete_all(chains[2])
    tamper_reason(chains[6])
    tamper_reason(chains[4])

    assert both_paths()[2].case_id == chains[4].pk
    CaseEvent.objects.filter(case__in=[chains[4], chains[6]]).delete()
    broken = both_paths()[2]
    assert (broken.case_id, broken.problem) == (chains[2].pk, "the case has no events")


@pytest.mark.parametrize("tamper", TAMPERINGS, ids=lambda tamper: tamper.__name__)
def test_a_parallel_plan_reports_alike(chains, tamper):
    # given the planner told that parallel workers cost nothing, even for these few rows
    with connection.cursor() as cursor:
        cursor.execute(
            "SET LOCAL parallel_setup_cost = 0; SET LOCAL parallel_tuple_cost = 0; "
            "SET LOCAL min_parallel_table_scan_size = 0; "
            "SET LOCAL max_parallel_workers_per_gather = 2"
        )
        cursor.execute(
            "EXPLAIN " + audit._pg_check_sql(),
            {"genesis": GENESIS, "needs_escaping": audit._NEEDS_ESCAPING},
        )
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "Parallel Seq Scan" in plan

    assert both_paths()[2] is None
    tamper(chains[5])
    assert both_paths()[2].case_id == chains[5].pk


def test_the_escaped_canonical_is_canonical_event_for_every_value(chains):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL TIME ZONE 'UTC'")
        sql = f"SELECT e.id, {audit._pg_canonical_sql(escaped=True)} FROM counterfeits_caseevent e"  # noqa: S608
        cursor.execute(sql)
        built = {pk: text.encode() for pk, text in cursor.fetchall()}
        transaction.set_rollback(True)
    for event in CaseEvent.objects.all():
        fields = (event.transition, event.from_state, event.to_state, event.actor_label)
        fields += (event.actor_role, event.reason, event.at, event.prev_hash)
        assert built[event.pk] == canonical_event(event.case_id, event.seq, *fields)


@pytest.mark.parametrize(
    "reason", ['a "quoted" word', "back\\slash", "bell \x07", "escape \x1b", "unit \x1f"]
)
def test_a_hash_taken_over_the_unescaped_bytes_is_caught(chains, reason):
    # given a last event whose hash was taken over its values put in raw, as PostgreSQL builds
    # them, not over canonical_event()'s escaped JSON
    case = CaseFactory()
    last = add_chain(case, [{"reason": "opened"}, {"reason": reason}])[-1]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL TIME ZONE 'UTC'")
        sql = f"SELECT {audit._pg_canonical_sql()} FROM counterfeits_caseevent e WHERE e.id = %s"  # noqa: S608
        cursor.execute(sql, [last.pk])
        raw = cursor.fetchone()[0].encode()
    CaseEvent.objects.filter(pk=last.pk).update(hash=hashlib.sha256(raw).hexdigest())

    broken = both_paths()[2]

    assert (broken.case_id, broken.seq, broken.problem) == (
        case.pk,
        2,
        "content does not match its hash",
    )


def test_a_seq_below_one_is_reported_alike(chains):
    CaseEvent.objects.filter(pk=events_of(chains[3])[0].pk).update(seq=0)

    broken = both_paths()[2]

    assert (broken.case_id, broken.problem) == (chains[3].pk, "sequence jumps to 0")


def test_when_the_statement_and_check_chain_disagree_the_portable_path_decides(chains, monkeypatch):
    tamper_reason(chains[3])
    monkeypatch.setattr(audit, "verify_case_chain", lambda case_id: None)

    assert audit._verify_all_chains_postgresql() == audit._verify_all_chains_portable(5000)
    assert audit._verify_all_chains_postgresql()[2].case_id == chains[3].pk


def test_settings_of_the_check_do_not_outlive_it_in_a_callers_transaction(chains):
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        before = cursor.fetchone()
        audit.verify_all_chains()
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == before


def test_the_smallest_work_mem_gives_the_same_answer(chains, settings):
    # given a broken chain, checked with the memory the operator sets and with the least
    tamper_reason(chains[3])
    expected = audit.verify_all_chains()

    settings.VERIFY_WORK_MEM = "64kB"

    # then batching through temporary files changes nothing in the answer
    assert audit.verify_all_chains() == expected
    assert expected[2].case_id == chains[3].pk


@pytest.mark.parametrize("value", ["64kB", "128MB", " 1GB ", "2047GB", "2097151MB"])
def test_work_mem_takes_what_postgresql_takes(monkeypatch, value):
    from config.settings import env_pg_memory

    monkeypatch.setenv("VERIFY_WORK_MEM", value)
    assert env_pg_memory("VERIFY_WORK_MEM", "128MB") == value.strip()


@pytest.mark.parametrize(
    "value", ["32kB", "63kB", "2048GB", "4096GB", "0MB", "128mb", "128", "1.5GB", "-1MB", ""]
)
def test_work_mem_postgresql_would_refuse_is_refused_at_start_up(monkeypatch, value):
    # below 64kB or above 2147483647kB, SET work_mem fails: the check would die with a traceback
    # and exit 1, the status of a broken chain
    from django.core.exceptions import ImproperlyConfigured

    from config.settings import env_pg_memory

    monkeypatch.setenv("VERIFY_WORK_MEM", value)
    with pytest.raises(ImproperlyConfigured, match="VERIFY_WORK_MEM must be a size from 64kB"):
        env_pg_memory("VERIFY_WORK_MEM", "128MB")
