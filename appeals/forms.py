"""The seller's appeal form."""

from django import forms

from counterfeits.uploads import MultipleFileField


class AppealForm(forms.Form):
    """A statement and, optionally, evidence files (checked by ``file_appeal``)."""

    statement = forms.CharField(
        label="Your statement",
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=10000,
        help_text="Why the decision is wrong: e.g. where you bought the goods, and from whom.",
    )
    evidence = MultipleFileField(
        label="Evidence",
        help_text=(
            "Invoices from an authorised distributor, photos, certificates: PNG, JPEG, GIF, WebP, "
            "PDF or plain text."
        ),
    )
