"""Appeal services: the seller files, a reviewer who did not confirm the case decides."""

from collections.abc import Sequence

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from counterfeits.audit import record_event
from counterfeits.choices import ActorRole, CaseState, NoticeKind
from counterfeits.exceptions import PermissionRefused, TransitionRefused
from counterfeits.models import Case, Notice
from counterfeits.services import _locked, _refer_locked, _run, reinstate_seller
from counterfeits.uploads import check_uploads
from outbox.services import enqueue

from .choices import AppealOutcome
from .models import Appeal, AppealEvidence


@transaction.atomic
def file_appeal(case_id: int, *, statement: str, evidence: Sequence[UploadedFile] = ()) -> Appeal:
    """The seller's one appeal. Inside the window it opens review; after it, within six months
    of the closure (DSA Art. 20), it is still accepted and reviewed alongside the referral.

    Evidence files (e.g. an authorised distributor's invoices) are checked — size cap, type by
    content — before anything changes, and stored under their SHA-256.
    """
    checked = check_uploads(evidence, field="evidence")
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
    # The window is open until the deadline, not at it (as the sweep and the seller's page say).
    late = case.appeal_deadline is not None and now >= case.appeal_deadline
    if late and case.state == CaseState.ACCOUNT_CLOSED:
        # The window ran out and the sweep has not come round yet: refer the case as the sweep
        # would have a moment ago, so a late complaint never holds the referral back.
        _refer_locked(case, expire=True, reason="appeal window expired")
    before = _run(case, "file_appeal", case.file_appeal)
    appeal = Appeal.objects.create(case=case, statement=statement, filed_at=now, late=late)
    for upload in checked:
        item = AppealEvidence(
            appeal=appeal,
            original_name=upload.original_name,
            content_type=upload.content_type,
            size=upload.size,
            sha256=upload.sha256,
        )
        item.file.save(upload.sha256, upload.as_file(), save=False)
        item.save()
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
    still_closed_by = None
    if outcome == AppealOutcome.GRANTED:
        if case.state == CaseState.REFERRED:
            name = "reinstate_after_referral"
            before = _run(case, name, case.reinstate_after_referral)
            retract_referrals(case, reason=f"appeal granted: {reason}")
        else:
            name = "grant_appeal"
            before = _run(case, name, case.grant_appeal)
        still_closed_by = reinstate_seller(case, reason=f"appeal granted: {reason}")
    else:
        name = "deny_appeal"
        before = _run(case, name, case.deny_appeal)
    appeal.outcome = outcome
    appeal.decided_by = actor
    appeal.decided_at = timezone.now()
    appeal.decision_reason = reason
    appeal.save(update_fields=["outcome", "decided_by", "decided_at", "decision_reason"])
    record_event(case, name, from_state=before, actor=actor, reason=reason)
    _queue_outcome_notice(case, appeal, still_closed_by=still_closed_by)
    if case.state == CaseState.REFERRAL_PENDING:
        enqueue("counterfeits.tasks.refer_case_task", case.pk)
    return appeal


def _queue_outcome_notice(case: Case, appeal: Appeal, *, still_closed_by: Case | None) -> None:
    """Owe the seller the decision with its reasons, as text and HTML, sent on commit.

    ``still_closed_by``: another case that keeps the account closed despite a grant."""
    from .links import appeal_url

    granted = appeal.outcome == AppealOutcome.GRANTED
    # Filed after the appeal window closed, it is a complaint (DSA Art. 20): say so throughout.
    kind = "complaint" if appeal.late else "appeal"
    context = {
        "kind": kind,
        "case": case,
        "seller": case.seller,
        "appeal": appeal,
        "granted": granted,
        "retracted": granted and case.referred_at is not None,
        "link": appeal_url(case),
        "still_closed_by": still_closed_by,
    }
    notice, created = Notice.objects.get_or_create(
        case=case,
        kind=NoticeKind.APPEAL_OUTCOME,
        defaults={
            "recipient": case.seller.email,
            "subject": f"Decision on your {kind} (case #{case.pk})",
            "body": render_to_string("appeals/email/outcome.txt", context),
            "html_body": render_to_string("appeals/email/outcome.html", context),
        },
    )
    if created:
        enqueue("counterfeits.tasks.send_notice_task", notice.pk)


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
