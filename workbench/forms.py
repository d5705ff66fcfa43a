"""Forms of the workbench: every decision asks for a reason and an explicit confirmation."""

from django import forms

from appeals.choices import AppealOutcome
from counterfeits.choices import EvidenceKind
from counterfeits.uploads import MultipleFileField

REASON_HELP = "Recorded on the case timeline and, for decisions, sent to the seller."

# The largest primary key PostgreSQL's bigint holds: a bigger number names no row.
MAX_ID = 2**63 - 1


def parse_id(raw: object) -> int | None:
    """A primary key from a query or form value, or None when it is not a plain positive id.

    ASCII digits only: ``str.isdigit`` also accepts "²" and other digits ``int`` refuses.
    """
    text = str(raw).strip() if raw is not None else ""
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


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


class CaseEvidenceForm(forms.Form):
    """Evidence files an analyst adds to an open case; the service checks the files' content."""

    files = MultipleFileField(
        label="Files",
        required=True,
        help_text="PNG, JPEG, GIF or WebP images, PDFs or plain text; each stored under the "
        "SHA-256 of its content.",
    )
    kind = forms.ChoiceField(label="Kind", choices=EvidenceKind.choices)
    description = forms.CharField(
        label="Description",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        strip=True,
        help_text="What the files show. The authorities read it in the referral packet.",
    )


class IdListField(forms.Field):
    """Several ids from ticked boxes; anything that is not a plain id is a field error."""

    widget = forms.CheckboxSelectMultiple

    def to_python(self, value: object) -> list[int]:
        values = value if isinstance(value, list | tuple) else [value] if value else []
        ids = []
        for item in values:
            pk = parse_id(item)
            if pk is None:
                raise forms.ValidationError("Choose listings from the list.")
            ids.append(pk)
        return ids


class CaseListingsForm(forms.Form):
    """Listings of the case's seller to add to an open case."""

    listing = IdListField(
        label="Listings",
        required=True,
        error_messages={"required": "Tick at least one listing."},
    )
