"""Serializers of the authority API. Read-only views of frozen referrals, plus the ack body.

The packet serializers below only *describe* the packet (schema ``touchstone.referral/1``) for the
OpenAPI document: the API returns the stored canonical JSON parsed as it is, never re-rendered
from the database, so what an authority reads is exactly what was signed.
"""

import json
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from ..choices import ReferralStatus
from ..models import Referral, SigningKey

# --- the packet, described for investigators ----------------------------------------------------


class PacketAuthoritySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The receiving authority's code, e.g. US-IPRC.")
    name = serializers.CharField(help_text="The receiving authority's full name.")
    jurisdiction = serializers.CharField(help_text="US, EU, or a member state code.")


class PacketAddressSerializer(serializers.Serializer):
    line1 = serializers.CharField(allow_blank=True, help_text="Street address as registered.")
    line2 = serializers.CharField(allow_blank=True, help_text="Second address line, if any.")
    city = serializers.CharField(allow_blank=True)
    region = serializers.CharField(allow_blank=True, help_text="State, province or region.")
    postal_code = serializers.CharField(allow_blank=True)
    country = serializers.CharField(help_text="ISO 3166-1 alpha-2 country of the seller.")


class PacketSellerSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The natural person behind the seller account.")
    company_name = serializers.CharField(
        allow_blank=True, help_text="The trading company, if the seller registered one."
    )
    company_registration = serializers.CharField(
        allow_blank=True, help_text="Company registration number as given to the marketplace."
    )
    tax_id = serializers.CharField(allow_blank=True, help_text="Tax or VAT id as given.")
    email = serializers.CharField(help_text="Contact e-mail of the seller account.")
    phone = serializers.CharField(allow_blank=True, help_text="Contact phone of the account.")
    address = PacketAddressSerializer(help_text="Registered address of the seller.")
    account_closed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the marketplace closed the seller's account (UTC)."
    )


class PacketProductSerializer(serializers.Serializer):
    title = serializers.CharField(help_text="The product the seller offered as genuine.")
    brand = serializers.CharField(help_text="The brand whose trademark the product infringes.")
    gtin = serializers.CharField(allow_blank=True, help_text="GTIN/EAN/UPC printed on the item.")
    listing_ids = serializers.ListField(
        child=serializers.CharField(), help_text="The marketplace's ids of the offending listings."
    )
    marketplaces = serializers.ListField(
        child=serializers.CharField(), help_text="Marketplace sites where it was listed."
    )
    units_sold = serializers.IntegerField(
        help_text="Units of this product sold to customers through those listings."
    )


class PacketTrademarkSerializer(serializers.Serializer):
    office = serializers.CharField(help_text="Registering office, e.g. USPTO, EUIPO.")
    number = serializers.CharField(help_text="Registration number at that office.")


class PacketBrandSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The rights holder's brand.")
    trademarks = PacketTrademarkSerializer(many=True, help_text="Registered trademarks relied on.")


class PacketEvidenceSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="Test buy, photo, screenshot, expert opinion …")
    description = serializers.CharField(help_text="What the item of evidence shows.")
    sha256 = serializers.CharField(
        help_text="SHA-256 (hex) of the evidence file held by the marketplace: ask for the file "
        "and compare, to prove it is the one described here."
    )
    collected_at = serializers.DateTimeField(
        allow_null=True, help_text="When it was collected (UTC)."
    )


class PacketTimelineSerializer(serializers.Serializer):
    at = serializers.DateTimeField(help_text="When the step happened (UTC).")
    event = serializers.CharField(help_text="The case transition, e.g. confirm, close_account.")
    actor_role = serializers.CharField(
        help_text="Who acted, by role (analyst, reviewer, system); never a person's name."
    )


class PacketAppealSerializer(serializers.Serializer):
    filed = serializers.BooleanField(help_text="Whether the seller appealed the closure.")
    outcome = serializers.CharField(
        allow_null=True, help_text="pending, granted or denied; null if no appeal."
    )
    decided_at = serializers.DateTimeField(allow_null=True, help_text="When it was decided.")


class PacketSerializer(serializers.Serializer):
    """The frozen referral packet, schema ``touchstone.referral/1``."""

    schema = serializers.CharField(help_text="Always touchstone.referral/1 for this version.")
    referral_id = serializers.IntegerField(help_text="Same as the referral's id in this API.")
    case_id = serializers.IntegerField(help_text="The marketplace's case number: quote it.")
    created_at = serializers.DateTimeField(help_text="When the packet was frozen and signed.")
    authority = PacketAuthoritySerializer(help_text="To whom the packet is addressed.")
    legal_basis = serializers.CharField(help_text="The legal basis of this disclosure.")
    seller = PacketSellerSerializer(help_text="Who sold the counterfeits, as known at freezing.")
    products = PacketProductSerializer(many=True, help_text="The counterfeit products.")
    brand = PacketBrandSerializer(help_text="The infringed brand and its trademarks.")
    evidence = PacketEvidenceSerializer(many=True, help_text="Evidence, each with its digest.")
    timeline = PacketTimelineSerializer(many=True, help_text="The case's steps, oldest first.")
    appeal = PacketAppealSerializer(help_text="The seller's appeal against the closure.")


# --- referrals --------------------------------------------------------------------------------

STATUS_HELP = (
    "pending: being delivered; delivered: available to pull or accepted by your webhook; "
    "acknowledged: you acknowledged it; retracted: withdrawn, the seller was reinstated on "
    "appeal (see retraction_reason); failed: push delivery gave up, our analysts are on it."
)


class ReferralSummarySerializer(serializers.ModelSerializer):
    """One line of the list: enough to decide what to fetch; the packet is in the detail."""

    url = serializers.SerializerMethodField(help_text="This referral in full, with its packet.")
    authority = serializers.CharField(
        source="authority.code", read_only=True, help_text="The receiving authority's code."
    )
    status = serializers.ChoiceField(
        choices=ReferralStatus.choices, read_only=True, help_text=STATUS_HELP
    )
    brand = serializers.CharField(
        source="brand_name", read_only=True, help_text="The infringed brand."
    )
    seller_country = serializers.CharField(
        read_only=True, help_text="ISO 3166-1 alpha-2 country where the seller is registered."
    )
    case_id = serializers.IntegerField(read_only=True, help_text="The marketplace's case number.")
    sha256 = serializers.CharField(
        read_only=True,
        help_text="SHA-256 (hex) of the packet's exact canonical bytes (packet.json).",
    )
    key_id = serializers.CharField(
        read_only=True, help_text="Which public key in /signing-keys/ verifies the signature."
    )
    created_at = serializers.DateTimeField(read_only=True, help_text="When it was signed.")
    delivered_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When it became available or was pushed."
    )
    acknowledged_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When you acknowledged it; null if not yet."
    )
    authority_reference = serializers.CharField(
        read_only=True, help_text="Your own reference, given when acknowledging; empty if none."
    )
    retracted_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When the referral was withdrawn; null unless status is retracted.",
    )
    retraction_reason = serializers.CharField(
        read_only=True, help_text="Why it was withdrawn (e.g. appeal granted); empty if not."
    )

    class Meta:
        model = Referral
        fields = [
            "id",
            "url",
            "authority",
            "status",
            "case_id",
            "brand",
            "seller_country",
            "sha256",
            "key_id",
            "created_at",
            "delivered_at",
            "acknowledged_at",
            "authority_reference",
            "retracted_at",
            "retraction_reason",
        ]
        read_only_fields = fields
        extra_kwargs = {"id": {"help_text": "The referral's id; quote it with the case id."}}

    def get_url(self, obj: Referral) -> str:
        return reverse("referral-detail", kwargs={"pk": obj.pk}, request=self.context["request"])


class ReferralDetailSerializer(ReferralSummarySerializer):
    """A referral with its packet, signature and links to the exact bytes and the PDF."""

    packet = serializers.SerializerMethodField(
        help_text="The packet, parsed from the exact signed bytes. To check the digest, hash "
        "the bytes of packet.json, not a re-serialisation of this object."
    )
    signature = serializers.CharField(
        read_only=True,
        help_text="Ed25519 signature (base64) over the raw 32-byte SHA-256 digest of the "
        "packet bytes, made with the key named by key_id.",
    )
    legal_basis = serializers.CharField(
        read_only=True, help_text="The legal basis on which the marketplace discloses this."
    )
    packet_json_url = serializers.SerializerMethodField(
        help_text="The exact canonical bytes that sha256 and signature cover."
    )
    packet_pdf_url = serializers.SerializerMethodField(
        help_text="The packet as a printable PDF for the case file."
    )

    class Meta(ReferralSummarySerializer.Meta):
        fields = [
            *ReferralSummarySerializer.Meta.fields,
            "signature",
            "legal_basis",
            "packet",
            "packet_json_url",
            "packet_pdf_url",
        ]
        read_only_fields = fields

    @extend_schema_field(PacketSerializer)
    def get_packet(self, obj: Referral) -> dict[str, Any]:
        return json.loads(obj.packet_json)

    def get_packet_json_url(self, obj: Referral) -> str:
        return reverse(
            "referral-packet-json", kwargs={"pk": obj.pk}, request=self.context["request"]
        )

    def get_packet_pdf_url(self, obj: Referral) -> str:
        return reverse(
            "referral-packet-pdf", kwargs={"pk": obj.pk}, request=self.context["request"]
        )


class AcknowledgeSerializer(serializers.Serializer):
    authority_reference = serializers.CharField(
        max_length=200,
        allow_blank=False,
        trim_whitespace=True,
        help_text="Your own reference for this referral (case or intake number). Acknowledging "
        "again with the same reference changes nothing; a different one is refused with 409.",
    )


class SigningKeySerializer(serializers.ModelSerializer):
    key_id = serializers.CharField(
        read_only=True, help_text="Matches a referral's key_id: use this key to verify it."
    )
    algorithm = serializers.CharField(read_only=True, help_text="Always Ed25519.")
    public_key = serializers.CharField(
        read_only=True, help_text="The raw 32-byte Ed25519 public key, base64."
    )
    created_at = serializers.DateTimeField(read_only=True, help_text="When the key was made.")
    retired_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When it stopped signing; null for the current key. Retired keys stay "
        "listed so that packets they signed can still be verified.",
    )
    current = serializers.SerializerMethodField(help_text="Whether new packets use this key.")

    class Meta:
        model = SigningKey
        fields = ["key_id", "algorithm", "public_key", "created_at", "retired_at", "current"]
        read_only_fields = fields

    def get_current(self, obj: SigningKey) -> bool:
        return obj.retired_at is None
