"""verify_audit_chain: exit 0 on intact timelines; exit 1 naming the first broken link on an
edited, deleted or reordered event."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from counterfeits.models import CaseEvent
from tests.ops.conftest import case_through_services

ROOT = Path(__file__).resolve().parents[2]


def verify(*args: str) -> str:
    out = StringIO()
    call_command("verify_audit_chain", *args, stdout=out)
    return out.getvalue()


def verify_fails(*args: str) -> str:
    with pytest.raises(CommandError) as refused:
        verify(*args)
    assert refused.value.returncode == 1
    return str(refused.value)


@pytest.fixture
def appealed_case(analyst):
    """open → confirm → close_account → file_appeal: four events, in state appeal_review."""
    case = case_through_services(analyst=analyst, appeal=True)
    assert CaseEvent.objects.filter(case=case).count() == 4
    return case


def event(case, seq: int) -> CaseEvent:
    return CaseEvent.objects.get(case=case, seq=seq)


def test_untouched_timelines_verify(analyst, appealed_case):
    # given two cases with real timelines
    case_through_services(analyst=analyst)
    # when / then
    assert "intact: 2 case(s), 7 event(s)" in verify()


def test_an_edited_event_is_caught(appealed_case):
    edited = event(appealed_case, 2)
    CaseEvent.objects.filter(pk=edited.pk).update(reason="nothing to see here")

    message = verify_fails()

    assert f"case {appealed_case.pk}, seq 2 (event {edited.pk})" in message
    assert "content does not match its hash" in message


def test_an_event_with_a_changed_actor_is_caught(appealed_case):
    confirm = event(appealed_case, 2)
    CaseEvent.objects.filter(pk=confirm.pk).update(actor_label="somebody-else")

    assert f"case {appealed_case.pk}, seq 2 (event {confirm.pk})" in verify_fails()


def test_a_deleted_middle_event_is_caught(appealed_case):
    after_gap = event(appealed_case, 3)
    CaseEvent.objects.filter(case=appealed_case, seq=2).delete()

    message = verify_fails()

    assert f"case {appealed_case.pk}, seq 2 (event {after_gap.pk})" in message
    assert "sequence jumps to 3" in message


def test_a_deleted_last_event_is_caught(appealed_case):
    CaseEvent.objects.filter(case=appealed_case, seq=4).delete()

    message = verify_fails()

    assert f"case {appealed_case.pk}, seq 4 (a missing event)" in message
    assert "ends in state 'account_closed' but the case is 'appeal_review'" in message


def test_reordered_events_are_caught(appealed_case):
    # given events 2 and 3 swapped (through a free seq: (case, seq) is unique)
    second, third = event(appealed_case, 2), event(appealed_case, 3)
    with transaction.atomic():
        CaseEvent.objects.filter(pk=second.pk).update(seq=1000)
        CaseEvent.objects.filter(pk=third.pk).update(seq=2)
        CaseEvent.objects.filter(pk=second.pk).update(seq=3)

    message = verify_fails()

    assert f"case {appealed_case.pk}, seq 2 (event {third.pk})" in message
    assert "prev_hash does not match" in message


def test_the_first_broken_case_is_named_when_several_are(analyst, appealed_case):
    later = case_through_services(analyst=analyst)
    CaseEvent.objects.filter(case=later, seq=1).update(reason="rewritten")
    CaseEvent.objects.filter(case=appealed_case, seq=3).update(reason="rewritten")

    message = verify_fails()

    assert f"case {appealed_case.pk}, seq 3" in message
    assert f"case {later.pk}," not in message


def test_case_option_checks_only_that_case(analyst, appealed_case):
    intact = case_through_services(analyst=analyst)
    CaseEvent.objects.filter(case=appealed_case, seq=1).update(reason="rewritten")

    assert "intact: 1 case(s), 3 event(s)" in verify("--case", str(intact.pk))
    assert f"case {appealed_case.pk}, seq 1" in verify_fails("--case", str(appealed_case.pk))


def test_case_option_refuses_an_unknown_case(appealed_case):
    CaseEvent.objects.filter(case=appealed_case).delete()
    unknown = appealed_case.pk + 1

    with pytest.raises(CommandError, match=f"no case {unknown}"):
        verify("--case", str(unknown))


def _manage(*args: str) -> subprocess.CompletedProcess:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.django_db(transaction=True)
def test_the_process_exits_1_when_tampered_and_0_when_intact(analyst, purge_broker):
    # given a committed case the command's own process can read
    case = case_through_services(analyst=analyst, appeal=True)

    intact = _manage("verify_audit_chain")
    CaseEvent.objects.filter(case=case, seq=2).update(reason="edited after the fact")
    tampered = _manage("verify_audit_chain")

    assert intact.returncode == 0, intact.stderr
    assert "intact: 1 case(s), 4 event(s)" in intact.stdout
    assert tampered.returncode == 1
    assert f"case {case.pk}, seq 2" in tampered.stderr
