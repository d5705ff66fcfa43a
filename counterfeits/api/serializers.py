"""Serializers for brand reports and cases. They validate shapes; services hold the rules."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from appeals.models import Appeal, AppealEvidence
from config.api import iso_datetime
from counterfeits.choices import TRANSITIONS, EvidenceKind, ReportReason
from counterfeits.filtersets import brands_for
from counterfeits.intake import EvidenceUpload, intake_brand_and_seller, with_intake_state
from counterfeits.models import Brand, Case, CaseEvent, Evidence, Report
from counterfeits.services import DECISIONS_NEEDING_REASON, allowed_transitions, file_report
from listings.api.serializers import ListingSummarySerializer
from referrals.models import Referral
from sellers.api.serializers import SellerRefSerializer
from sellers.models import Seller

# Cap on ids in one request body: a report or a case is about one seller, not a catalogue.
MAX_IDS_PER_REQUEST = 200
# Cap on evidence files with one report: enough for a test buy's photos and documents.
MAX_EVIDENCE_FILES = 20


class BrandRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Brand
        fields = ["id", "name", "verified"]
        read_only_fields = fields


# --- reports -------------------------------------------------------------------------------


class ReportSellerSerializer(serializers.ModelSerializer):
    """The reported seller as a brand owner sees it: the account, not the person behind it."""

    display_name = serializers.CharField(read_only=True, help_text="Company name, else name.")

    class Meta:
        model = Seller
        fields = ["id", "external_id", "display_name"]
        read_only_fields = fields


class ReportEvidenceSerializer(serializers.ModelSerializer):
    """An evidence file filed with a report: what it is and the digest of what was stored."""

    class Meta:
        model = Evidence
        fields = ["id", "kind", "description", "original_name", "content_type", "size", "sha256"]
        read_only_fields = fields
        extra_kwargs = {
            "content_type": {"help_text": "The type decided from the file's content."},
            "sha256": {"help_text": "SHA-256 of the stored content: compare with your copy."},
        }


class ReportSerializer(serializers.ModelSerializer):
    """A brand owner's report and where it stands."""

    brand = BrandRefSerializer(read_only=True)
    seller = ReportSellerSerializer(read_only=True)
    listings = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Ids of the reported listings."
    )
    evidence = ReportEvidenceSerializer(
        many=True, read_only=True, help_text="Evidence files filed with the report."
    )

    class Meta:
        model = Report
        fields = [
            "id",
            "brand",
            "seller",
            "listings",
            "reason",
            "explanation",
            "notifier_name",
            "notifier_email",
            "good_faith",
            "evidence",
            "status",
            "outcome_reason",
            "case",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "status": {"help_text": "received, in_review, case_opened, action_taken or rejected."},
            "outcome_reason": {"help_text": "Why the report was rejected, once it is."},
            "case": {"help_text": "Id of the case opened from this report, if any."},
        }


class ReportCreateSerializer(serializers.Serializer):
    """A new report (EU DSA Art. 16 notice). Name the seller, or listings of one seller.

    Send ``application/json``, or ``multipart/form-data`` to attach evidence files: repeat
    ``evidence`` once per file (and ``listings`` once per id). ``evidence_kind`` and
    ``evidence_description`` are each given once for every file, or once per file in the order
    of the files. Files are checked by their content (PNG, JPEG, GIF, WebP, PDF or plain text,
    at most ``MAX_UPLOAD_BYTES`` each); one refused file refuses the report and nothing is filed.
    """

    brand = serializers.PrimaryKeyRelatedField(
        queryset=Brand.objects.none(), help_text="Id of a brand you belong to."
    )
    seller = serializers.PrimaryKeyRelatedField(
        queryset=Seller.objects.all(),
        required=False,
        allow_null=True,
        help_text="Id of the seller; derived from the listings when omitted.",
    )
    listings = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        max_length=MAX_IDS_PER_REQUEST,
        help_text="Ids of the infringing listings, all of one seller.",
    )
    reason = serializers.ChoiceField(choices=ReportReason.choices)
    explanation = serializers.CharField(
        max_length=10000, help_text="Why the listings infringe (DSA Art. 16(2)(a))."
    )
    notifier_name = serializers.CharField(max_length=200, help_text="Who files the report.")
    notifier_email = serializers.EmailField(help_text="Where to reach the person filing.")
    good_faith = serializers.BooleanField(
        help_text="Must be true: the notifier believes in good faith the notice is accurate."
    )
    evidence = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        default=list,
        max_length=MAX_EVIDENCE_FILES,
        help_text=(
            "multipart/form-data only: evidence files, the field repeated once per file. Each is "
            "a PNG, JPEG, GIF or WebP image, a PDF or plain text, decided by its content."
        ),
    )
    evidence_kind = serializers.ListField(
        child=serializers.ChoiceField(choices=EvidenceKind.choices),
        required=False,
        default=list,
        max_length=MAX_EVIDENCE_FILES,
        help_text="What the files are: once for every file, or once per file in order. "
        "Default: photo.",
    )
    evidence_description = serializers.ListField(
        child=serializers.CharField(max_length=500, allow_blank=True),
        required=False,
        default=list,
        max_length=MAX_EVIDENCE_FILES,
        help_text="Describe the files: once for every file, or once per file in order. "
        "Default: the file's name.",
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Another brand's id is refused exactly like one that does not exist.
        # With its intake state, so that file_report asks no more about a suspension.
        self.fields["brand"].queryset = with_intake_state(brands_for(self.context.get("request")))

    def validate(self, attrs: dict) -> dict:
        files = attrs["evidence"]
        for name in ("evidence_kind", "evidence_description"):
            given = len(attrs[name])
            if given and not files:
                raise serializers.ValidationError({name: ["There are no evidence files."]})
            if given not in (0, 1, len(files)):
                raise serializers.ValidationError(
                    {name: [f"Give one value for every file, or one per file ({len(files)})."]}
                )
        return attrs

    @staticmethod
    def evidence_uploads(validated_data: dict) -> list[EvidenceUpload]:
        """The files with their kind and description (one value given applies to every file)."""
        files = validated_data["evidence"]

        def per_file(values: list[str], default: str) -> list[str]:
            return values * len(files) if len(values) == 1 else values or [default] * len(files)

        kinds = per_file(validated_data["evidence_kind"], EvidenceKind.PHOTO)
        descriptions = per_file(validated_data["evidence_description"], "")
        return [
            EvidenceUpload(file, kind, description)
            for file, kind, description in zip(files, kinds, descriptions, strict=True)
        ]

    def create(self, validated_data: dict) -> Report:
        return file_validated_report(
            validated_data,
            reporter=self.context["request"].user,
            evidence=self.evidence_uploads(validated_data),
        )


def file_validated_report(
    validated_data: dict, *, reporter: object, evidence: list[EvidenceUpload]
) -> Report:
    """``file_report`` with a validated body; the service's field errors become a 400."""
    try:
        return file_report(
            brand=validated_data["brand"],
            reporter=reporter,
            seller=validated_data.get("seller"),
            listing_ids=validated_data["listings"],
            reason=validated_data["reason"],
            explanation=validated_data["explanation"],
            notifier_name=validated_data["notifier_name"],
            notifier_email=validated_data["notifier_email"],
            good_faith=validated_data["good_faith"],
            evidence=evidence,
            # The brand field's queryset is brands_for(request): a brand owner's own only.
            membership_checked=True,
        )
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.message_dict) from exc


# --- the intake's hot path ------------------------------------------------------------------
#
# Nearly every report a brand's system files is a plain JSON body: ids, a reason, three texts
# and a flag. Building ReportCreateSerializer (a deep copy of eleven fields) and running it was
# a fifth of the request. plain_report_data() accepts exactly such a body when every value is
# one ReportCreateSerializer accepts unchanged, and gives the same validated data; anything
# else (a missing or odd value, evidence, multipart, an id that is not found) returns None and
# goes through the serializer, so every error body is the serializer's own.

# The texts and their limits, as ReportCreateSerializer declares them.
PLAIN_TEXTS = {
    name: ReportCreateSerializer._declared_fields[name].max_length
    for name in ("explanation", "notifier_name", "notifier_email")
}
NOT_PLAIN = frozenset({"evidence", "evidence_kind", "evidence_description"})
MAX_ID = 2**63 - 1


def _plain_id(value: object) -> bool:
    return type(value) is int and 1 <= value <= MAX_ID


def _plain_text(value: object, max_length: int | None) -> str | None:
    """The value as CharField gives it (stripped), or None if CharField might refuse it."""
    if type(value) is not str:
        return None
    text = value.strip()
    if not text or (max_length is not None and len(text) > max_length) or "\x00" in text:
        return None
    if not text.isascii():
        try:
            text.encode("utf-8")  # a lone surrogate: CharField refuses it
        except UnicodeEncodeError:
            return None
    return text


def plain_report_data(data: object, request: object) -> dict | None:
    """``ReportCreateSerializer(data=data).validated_data`` for a plain JSON report, or None.

    None means "let the serializer decide": it then answers exactly as it always has.
    """
    if type(data) is not dict or not NOT_PLAIN.isdisjoint(data):
        return None
    brand_id, seller_id = data.get("brand"), data.get("seller")
    listings = data.get("listings", [])
    if (
        not _plain_id(brand_id)
        or not (seller_id is None or _plain_id(seller_id))
        or type(listings) is not list
        or len(listings) > MAX_IDS_PER_REQUEST
        or not all(_plain_id(item) for item in listings)
        or type(data.get("reason")) is not str
        or data["reason"] not in ReportReason.values
        or type(data.get("good_faith")) is not bool
    ):
        return None
    texts = {name: _plain_text(data.get(name), limit) for name, limit in PLAIN_TEXTS.items()}
    if None in texts.values():
        return None
    try:
        validate_email(texts["notifier_email"])
    except DjangoValidationError:
        return None
    # The brand with whether its intake is suspended (file_report then asks no more), and the
    # seller: what the serializer's two fields look up, in one statement.
    found = intake_brand_and_seller(request.user, brand_id, seller_id)
    if found is None:
        return None
    brand, seller = found
    validated = {
        "brand": brand,
        "listings": listings,
        "reason": data["reason"],
        **texts,
        "good_faith": data["good_faith"],
        "evidence": [],
        "evidence_kind": [],
        "evidence_description": [],
    }
    if "seller" in data:
        validated["seller"] = seller
    return validated


def filed_report_body(report: Report) -> dict:
    """``ReportSerializer(report).data`` of a report just filed from a plain body (no evidence):
    everything is in hand, so it is written out rather than serialised field by field."""
    zone = timezone.get_current_timezone()
    brand, seller = report.brand, report.seller
    return {
        "id": report.pk,
        "brand": {"id": brand.pk, "name": brand.name, "verified": brand.verified},
        "seller": {
            "id": seller.pk,
            "external_id": seller.external_id,
            "display_name": seller.display_name,
        },
        "listings": [listing.pk for listing in report.listings.all()],
        "reason": report.reason,
        "explanation": report.explanation,
        "notifier_name": report.notifier_name,
        "notifier_email": report.notifier_email,
        "good_faith": report.good_faith,
        "evidence": [],
        "status": report.status,
        "outcome_reason": report.outcome_reason,
        "case": report.case_id,
        "created_at": iso_datetime(report.created_at, zone),
        "updated_at": iso_datetime(report.updated_at, zone),
    }


# --- cases ---------------------------------------------------------------------------------


class CaseSerializer(serializers.ModelSerializer):
    """A case in the analyst's queue."""

    brand = BrandRefSerializer(read_only=True)
    seller = SellerRefSerializer(read_only=True)
    assignee = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="Username of the assigned analyst.",
    )

    class Meta:
        model = Case
        fields = [
            "id",
            "state",
            "brand",
            "seller",
            "assignee",
            "safety_risk",
            "priority",
            "created_at",
            "confirmed_at",
            "account_closed_at",
            "appeal_deadline",
            "referred_at",
            "closed_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "state": {"help_text": "One of the states of the case lifecycle."},
            "safety_risk": {"help_text": "Referred on closure, without waiting for the window."},
            "appeal_deadline": {"help_text": "End of the seller's appeal window."},
        }


class CaseEventSerializer(serializers.ModelSerializer):
    """One entry of the hash-chained timeline."""

    actor = serializers.CharField(
        source="actor_label", read_only=True, help_text="Username, or the role for system/seller."
    )

    class Meta:
        model = CaseEvent
        fields = [
            "seq",
            "transition",
            "from_state",
            "to_state",
            "actor",
            "actor_role",
            "reason",
            "at",
            "hash",
        ]
        read_only_fields = fields
        extra_kwargs = {"hash": {"help_text": "SHA-256 chained to the previous event's hash."}}


class EvidenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Evidence
        fields = ["id", "kind", "description", "sha256", "collected_at", "report"]
        read_only_fields = fields
        extra_kwargs = {
            "sha256": {"help_text": "SHA-256 of the evidence file's content."},
            "report": {"help_text": "The report it came with, if not added to the case."},
        }


class AppealEvidenceSerializer(serializers.ModelSerializer):
    """A file the seller sent with the appeal: what it is, the digest of what was stored, and
    where a signed-in reviewer downloads it."""

    download_url = serializers.SerializerMethodField(
        help_text=(
            "The file in the analyst workbench (session sign-in, as the workbench's other "
            "pages): images are shown, anything else is an attachment."
        )
    )

    class Meta:
        model = AppealEvidence
        fields = [
            "id",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "uploaded_at",
            "download_url",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "original_name": {"help_text": "The seller's name for the file (a label only)."},
            "content_type": {"help_text": "The type decided from the file's content."},
            "size": {"help_text": "Bytes."},
            "sha256": {"help_text": "SHA-256 of the stored content."},
            "uploaded_at": {"help_text": "When the seller sent it (with the appeal)."},
        }

    @extend_schema_field(serializers.URLField())
    def get_download_url(self, obj: AppealEvidence) -> str:
        return reverse(
            "workbench:appeal-evidence-file",
            args=[obj.appeal_id, obj.pk],
            request=self.context.get("request"),
        )


class AppealSummarySerializer(serializers.ModelSerializer):
    decided_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    evidence = AppealEvidenceSerializer(
        many=True, read_only=True, help_text="The files the seller sent with the appeal."
    )

    class Meta:
        model = Appeal
        fields = [
            "id",
            "statement",
            "filed_at",
            "late",
            "outcome",
            "decided_by",
            "decided_at",
            "decision_reason",
            "evidence",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "late": {"help_text": "Filed after the appeal window (DSA Art. 20 complaint)."},
            "outcome": {"help_text": "pending, granted or denied."},
        }


class CaseReferralSerializer(serializers.ModelSerializer):
    authority = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="Authority code, e.g. US-IPRC."
    )

    class Meta:
        model = Referral
        fields = ["id", "authority", "status", "created_at", "delivered_at", "acknowledged_at"]
        read_only_fields = fields
        extra_kwargs = {"status": {"help_text": "pending, delivered, acknowledged or retracted."}}


class CaseDetailSerializer(CaseSerializer):
    """One case with everything an analyst decides on. The view prefetches the relations."""

    opened_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    confirmed_by = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="The confirming analyst, who may not decide the appeal.",
    )
    allowed_transitions = serializers.SerializerMethodField(
        help_text="Names of the transitions possible now."
    )
    events = CaseEventSerializer(many=True, read_only=True)
    listings = ListingSummarySerializer(many=True, read_only=True)
    units_sold = serializers.SerializerMethodField(help_text="Units sold over all listings.")
    reports = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Ids of the reports the case was opened from."
    )
    evidence = serializers.SerializerMethodField(
        help_text="Evidence on the case and on its reports."
    )
    appeal = serializers.SerializerMethodField(help_text="The seller's appeal, if filed.")
    referrals = CaseReferralSerializer(many=True, read_only=True)

    class Meta(CaseSerializer.Meta):
        fields = [
            *CaseSerializer.Meta.fields,
            "opened_by",
            "confirmed_by",
            "allowed_transitions",
            "events",
            "listings",
            "units_sold",
            "reports",
            "evidence",
            "appeal",
            "referrals",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(TRANSITIONS)))
    def get_allowed_transitions(self, obj: Case) -> list[str]:
        request = self.context.get("request")
        return allowed_transitions(obj, getattr(request, "user", None))

    def get_units_sold(self, obj: Case) -> int:
        return sum(listing.units_sold for listing in obj.listings.all())

    @extend_schema_field(EvidenceSerializer(many=True))
    def get_evidence(self, obj: Case) -> list[dict]:
        evidence = Evidence.objects.filter(Q(case=obj) | Q(report__case=obj))
        return EvidenceSerializer(evidence.order_by("collected_at", "id"), many=True).data

    @extend_schema_field(AppealSummarySerializer(allow_null=True))
    def get_appeal(self, obj: Case) -> dict | None:
        appeal = getattr(obj, "appeal", None)
        if appeal is None:
            return None
        return AppealSummarySerializer(appeal, context=self.context).data


class CaseOpenSerializer(serializers.Serializer):
    """Open a case from reports on one seller and one brand."""

    report_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        allow_empty=False,
        max_length=MAX_IDS_PER_REQUEST,
        help_text="Ids of reports on the same seller and brand, not yet in a case.",
    )
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=5000, help_text="Why."
    )


class TransitionSerializer(serializers.Serializer):
    """The body of a transition: the reason, and what the transition needs."""

    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=5000,
        help_text="Why: goes on the timeline. Required for analysts' decisions.",
    )
    statement = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=20000,
        help_text="file_appeal only: the seller's statement.",
    )
    manifestly_unfounded = serializers.BooleanField(
        required=False,
        default=False,
        help_text=(
            "dismiss only: the case's reports are rejected as manifestly unfounded (EU DSA "
            "Art. 23); they count towards the brand's warning and intake suspension."
        ),
    )

    def validate(self, attrs: dict) -> dict:
        name = self.context["transition"]
        if attrs["manifestly_unfounded"] and name != "dismiss":
            raise serializers.ValidationError(
                {
                    "manifestly_unfounded": [
                        "Only a dismissal can find reports manifestly unfounded."
                    ]
                }
            )
        if name in DECISIONS_NEEDING_REASON and not attrs["reason"].strip():
            raise serializers.ValidationError({"reason": [f"'{name}' needs a reason."]})
        if name == "file_appeal" and not attrs["statement"].strip():
            raise serializers.ValidationError({"statement": ["The appeal needs a statement."]})
        return attrs


class CaseEvidenceAddSerializer(serializers.Serializer):
    """Evidence files an analyst adds to an open case (``multipart/form-data``).

    Repeat ``files`` once per file; ``kind`` and ``description`` apply to every file of the
    request. Each file is checked by its content (PNG, JPEG, GIF, WebP, PDF or plain text, at
    most ``MAX_UPLOAD_BYTES``); one refused file refuses them all and nothing is stored.
    """

    files = serializers.ListField(
        child=serializers.FileField(),
        allow_empty=False,
        max_length=MAX_EVIDENCE_FILES,
        help_text="The evidence files, the field repeated once per file.",
    )
    kind = serializers.ChoiceField(choices=EvidenceKind.choices, help_text="What the files are.")
    description = serializers.CharField(
        max_length=2000, help_text="What the files show: goes into the referral packet."
    )


class CaseListingsAddSerializer(serializers.Serializer):
    """Listings of the case's seller (and brand) to add to an open case."""

    listing_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        allow_empty=False,
        max_length=MAX_IDS_PER_REQUEST,
        help_text="Ids of listings of the case's seller, of the case's brand.",
    )
