"""Portal forms: sign-in, brand registration, and the report (DSA Art. 16 notice)."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from counterfeits.choices import EvidenceKind, ReportReason, TrademarkOffice
from counterfeits.models import Brand
from counterfeits.roles import is_brand_owner
from counterfeits.uploads import MultipleFileField
from listings.models import Listing

MAX_REFERENCES = 200


class BrandOwnerAuthenticationForm(AuthenticationForm):
    """Django's sign-in, for members of the ``brand_owner`` group only."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "not_brand_owner": (
            "This sign-in is for brand owners. Trust-and-safety staff sign in to the workbench."
        ),
    }

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if not is_brand_owner(user):
            raise ValidationError(self.error_messages["not_brand_owner"], code="not_brand_owner")


class BrandForm(forms.Form):
    name = forms.CharField(label="Brand name", max_length=200)


class TrademarkForm(forms.Form):
    office = forms.ChoiceField(choices=[("", "—"), *TrademarkOffice.choices], required=False)
    number = forms.CharField(label="Registration number", max_length=50, required=False)
    classes = forms.CharField(
        label="Nice classes", max_length=100, required=False, help_text="e.g. 9, 25"
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("number") and not data.get("office"):
            self.add_error("office", "Choose the office that registered this trademark.")
        return data


TrademarkFormSet = forms.formset_factory(TrademarkForm, extra=3, max_num=20, validate_max=True)


class ListingSearchForm(forms.Form):
    q = forms.CharField(label="Search listings", max_length=200, required=False)


class ReportForm(forms.Form):
    """A notice: which listings, why, with what evidence, by whom, in good faith."""

    brand = forms.ModelChoiceField(queryset=Brand.objects.none(), empty_label=None)
    listings = forms.ModelMultipleChoiceField(
        queryset=Listing.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Listings found",
    )
    references = forms.CharField(
        label="Marketplace URLs or listing ids",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="One per line. All listings of one report must belong to one seller.",
    )
    reason = forms.ChoiceField(choices=ReportReason.choices)
    explanation = forms.CharField(
        label="Explanation",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=10000,
        help_text="Why these listings infringe your rights: what you bought, what you found.",
    )
    evidence = MultipleFileField(
        label="Evidence files",
        help_text="Test-buy receipts, photos of the fake next to the genuine, lab reports: "
        "PNG, JPEG, GIF, WebP, PDF or plain text.",
    )
    evidence_kind = forms.ChoiceField(
        label="The files are", choices=EvidenceKind.choices, initial=EvidenceKind.PHOTO
    )
    evidence_description = forms.CharField(
        label="Describe the evidence", max_length=500, required=False
    )
    notifier_name = forms.CharField(label="Your name", max_length=200)
    notifier_email = forms.EmailField(label="Your e-mail")
    good_faith = forms.BooleanField(
        label=(
            "I declare in good faith that the information and allegations in this notice are "
            "accurate and complete (EU DSA Art. 16(2)(d))."
        ),
        error_messages={"required": "Confirm that you file this report in good faith."},
    )

    def __init__(self, *args, brands, listing_choices, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = brands
        self.fields["listings"].queryset = listing_choices

    def clean_references(self) -> list[str]:
        refs = [line.strip() for line in self.cleaned_data["references"].splitlines()]
        refs = [r for r in refs if r]
        if len(refs) > MAX_REFERENCES:
            raise ValidationError(f"At most {MAX_REFERENCES} listings per report.")
        return refs

    def clean(self) -> dict:
        data = super().clean()
        if (
            not data.get("listings")
            and not data.get("references")
            and not self.errors.get("references")
        ):
            self.add_error("references", "Pick listings from the search or paste their URLs.")
        return data


class RejectReportForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    manifestly_unfounded = forms.BooleanField(
        required=False,
        label="Manifestly unfounded (counts towards an Art. 23 warning or suspension)",
    )
