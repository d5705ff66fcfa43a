"""Appeal serializers for the analyst's review queue."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from appeals.choices import AppealOutcome
from appeals.models import Appeal
from counterfeits.api.serializers import AppealSummarySerializer, BrandRefSerializer
from counterfeits.models import Case
from sellers.api.serializers import SellerRefSerializer


class AppealCaseSerializer(serializers.ModelSerializer):
    brand = BrandRefSerializer(read_only=True)
    seller = SellerRefSerializer(read_only=True)
    confirmed_by = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="The confirming analyst, who may not decide this appeal.",
    )

    class Meta:
        model = Case
        fields = ["id", "state", "brand", "seller", "confirmed_by", "appeal_deadline"]
        read_only_fields = fields


class AppealSerializer(AppealSummarySerializer):
    """An appeal and the case it is against."""

    # The case page's appeal summary (same fields and help), plus the case and may_decide.

    case = AppealCaseSerializer(read_only=True)
    may_decide = serializers.SerializerMethodField(
        help_text="Whether you may decide it: pending, and not on a case you confirmed."
    )

    class Meta(AppealSummarySerializer.Meta):
        fields = [
            "id",
            "case",
            *AppealSummarySerializer.Meta.fields[1:],
            "may_decide",
        ]
        read_only_fields = fields
        extra_kwargs = {
            **AppealSummarySerializer.Meta.extra_kwargs,
            "statement": {"help_text": "The seller's statement."},
        }

    @extend_schema_field(serializers.BooleanField())
    def get_may_decide(self, obj: Appeal) -> bool:
        request = self.context.get("request")
        user_id = getattr(getattr(request, "user", None), "pk", None)
        return obj.outcome == AppealOutcome.PENDING and obj.case.confirmed_by_id != user_id


class AppealDecisionSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=[AppealOutcome.GRANTED, AppealOutcome.DENIED], help_text="granted or denied."
    )
    reason = serializers.CharField(
        max_length=5000, help_text="Why: sent to the seller and kept on the case's timeline."
    )
