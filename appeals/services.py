"""Appeal services: the seller files, a reviewer who did not confirm the case decides."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from counterfeits.audit import record_event
from counterfeits.choices import ActorRole, CaseState, NoticeKind
from counterfeits.exceptions import PermissionRefused, TransitionRefused
from counterfeits.models import Case, Notice
from counterfeits.services import _locked, _run, reinstate_seller

from .choices import AppealOutcome
from .models import Appeal


@transaction.atomic
def file_appeal(case_id: int, *, statement: str) -> Appeal:
    """The seller's one appeal. Inside the window it opens review; after it, within six months
    of the closure (DSA Art. 20), it is still accepted and reviewed alongside the referral."""
    case = _locked(case_id)
    if Appeal.objects.filter(case=case).exists():
        raise TransitionRefused(case, "file_appeal", "an appeal was already filed for this case")
    if not statement.strip():
        raise ValueError("The appeal needs a statement.")
    now = timezone.now()
    closed_at = case.account_closed_at
    if closed_at is not None and now > closed_at + settings.COMPLAINT_WINDOW:
        raise TransitionRefused(
            case, "file_appeal", "complaints are accepted for six months after the closure"
        )
    before = _run(case, "file_appeal", case.file_appeal)
    appeal = Appeal.objects.create(
        case=case,
        statement=statement,
        filed_at=now,
        late=case.appeal_deadline is not None and now > case.appeal_deadline,
    )
    record_event(
        case,
        "file_appeal",
        from_state=before,
        actor=None,
        role=ActorRole.SELLER,
        actor_label="seller",
        reason="late complaint filed" if appeal.late else "appeal filed",
    )
    return appeal


@transaction.atomic
def decide_appeal(appeal_id: int, *, outcome: str, actor: AbstractBaseUser, reason: str) -> Appeal:
    """Grant or deny. Never by the analyst who confirmed the case. A grant after referral
    reinstates the seller and retracts every referral."""
    from referrals.services import retract_referrals

    case_id = Appeal.objects.values_list("case_id", flat=True).get(pk=appeal_id)
    case = _locked(case_id)
    appeal = Appeal.objects.select_for_update().get(pk=appeal_id)
    if outcome not in (AppealOutcome.GRANTED, AppealOutcome.DENIED):
        raise ValueError("The outcome is 'granted' or 'denied'.")
    if case.confirmed_by_id is not None and case.confirmed_by_id == actor.pk:
        raise PermissionRefused("The analyst who confirmed a case cannot decide its appeal.")
    if appeal.outcome != AppealOutcome.PENDING:
        raise TransitionRefused(case, f"{outcome[:-2]}_appeal", "this appeal is already decided")
    if outcome == AppealOutcome.GRANTED:
        if case.state == CaseState.REFERRED:
            name = "reinstate_after_referral"
            before = _run(case, name, case.reinstate_after_referral)
            retract_referrals(case, reason=f"appeal granted: {reason}")
        else:
            name = "grant_appeal"
            before = _run(case, name, case.grant_appeal)
        reinstate_seller(case, reason=f"appeal granted: {reason}")
    else:
        name = "deny_appeal"
        before = _run(case, name, case.deny_appeal)
    appeal.outcome = outcome
    appeal.decided_by = actor
    appeal.decided_at = timezone.now()
    appeal.decision_reason = reason
    appeal.save(update_fields=["outcome", "decided_by", "decided_at", "decision_reason"])
    record_event(case, name, from_state=before, actor=actor, reason=reason)
    _queue_outcome_notice(case, appeal)
    if case.state == CaseState.REFERRAL_PENDING:
        from counterfeits.tasks import refer_case_task

        refer_case_task.delay_on_commit(case.pk)
    return appeal


def _queue_outcome_notice(case: Case, appeal: Appeal) -> None:
    from counterfeits.tasks import send_notice_task

    if appeal.outcome == AppealOutcome.GRANTED:
        body = (
            f"Dear {case.seller.name},\n\nYour appeal on case #{case.pk} was granted: your "
            f"account is reinstated.\n\nReasons: {appeal.decision_reason}\n"
        )
    else:
        body = (
            f"Dear {case.seller.name},\n\nYour appeal on case #{case.pk} was denied: the "
            f"closure stands and the case is referred to the competent authorities.\n\n"
            f"Reasons: {appeal.decision_reason}\n"
        )
    notice, created = Notice.objects.get_or_create(
        case=case,
        kind=NoticeKind.APPEAL_OUTCOME,
        defaults={
            "recipient": case.seller.email,
            "subject": f"Decision on your appeal (case #{case.pk})",
            "body": body,
        },
    )
    if created:
        send_notice_task.delay_on_commit(notice.pk)


# The case transitions that decide an appeal: the outcome each records, and the case states
# it may be run from (as the state machine on Case says).
APPEAL_DECISIONS: dict[str, tuple[str, frozenset[str]]] = {
    "grant_appeal": (
        AppealOutcome.GRANTED,
        frozenset({CaseState.APPEAL_REVIEW, CaseState.REFERRAL_PENDING}),
    ),
    "deny_appeal": (
        AppealOutcome.DENIED,
        frozenset({CaseState.APPEAL_REVIEW, CaseState.REFERRAL_PENDING, CaseState.REFERRED}),
    ),
    "reinstate_after_referral": (AppealOutcome.GRANTED, frozenset({CaseState.REFERRED})),
}


@transaction.atomic
def decide_case_appeal(
    case_id: int, transition: str, *, actor: AbstractBaseUser, reason: str
) -> Appeal:
    """Decide a case's appeal through the named case transition (``grant_appeal``,
    ``deny_appeal``, ``reinstate_after_referral``).

    Refused when the case's state does not allow that transition (a grant on a referred case is
    ``reinstate_after_referral``) or when no appeal was filed; otherwise ``decide_appeal``.
    """
    outcome, states = APPEAL_DECISIONS[transition]
    case = _locked(case_id)
    if case.state not in states:
        raise TransitionRefused(case, transition)
    appeal_id = Appeal.objects.filter(case=case).values_list("pk", flat=True).first()
    if appeal_id is None:
        raise TransitionRefused(case, transition, "no appeal was filed on this case")
    return decide_appeal(appeal_id, outcome=outcome, actor=actor, reason=reason)
