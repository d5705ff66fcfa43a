"""Forms of the workbench: every decision asks for a reason and an explicit confirmation."""

from django import forms

from appeals.choices import AppealOutcome

REASON_HELP = "Recorded on the case timeline and, for decisions, sent to the seller."


class TransitionForm(forms.Form):
    """A reason for the timeline, and a tick that the analyst means it (the confirm step)."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        min_length=5,
        max_length=4000,
        strip=True,
        help_text=REASON_HELP,
    )
    confirmed = forms.BooleanField(
        required=True,
        label="I have reviewed the case and confirm this action.",
        error_messages={"required": "Tick the box to confirm."},
    )


class DismissForm(TransitionForm):
    """Dismiss a case; optionally find its reports manifestly unfounded (EU DSA Art. 23)."""

    manifestly_unfounded = forms.BooleanField(
        required=False,
        label="The reports were manifestly unfounded",
        help_text=(
            "Only for reports that were plainly baseless, not for a case that lacked evidence. "
            "They count towards the brand's Art. 23 warning and intake suspension."
        ),
    )

    field_order = ["reason", "manifestly_unfounded", "confirmed"]


class AppealDecisionForm(TransitionForm):
    """Grant or deny an appeal."""

    outcome = forms.ChoiceField(
        choices=[
            (AppealOutcome.DENIED.value, "Deny — the closure stands, the case goes to referral"),
            (AppealOutcome.GRANTED.value, "Grant — reinstate the seller (retracts any referral)"),
        ],
        widget=forms.RadioSelect,
    )

    field_order = ["outcome", "reason", "confirmed"]
