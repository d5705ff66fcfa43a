"""Listing serializers for the analyst API."""

from rest_framework import serializers

from counterfeits.models import Brand
from listings.models import Listing, Product
from sellers.api.serializers import SellerRefSerializer


class ProductBrandSerializer(serializers.ModelSerializer):
    class Meta:
        model = Brand
        fields = ["id", "name"]
        read_only_fields = fields


class ProductSerializer(serializers.ModelSerializer):
    brand = ProductBrandSerializer(read_only=True, help_text="The brand the product claims.")

    class Meta:
        model = Product
        fields = ["id", "external_id", "title", "gtin", "brand", "safety_risk"]
        read_only_fields = fields
        extra_kwargs = {"safety_risk": {"help_text": "A fake of it threatens life or safety."}}


class ListingSummarySerializer(serializers.ModelSerializer):
    """A listing inside a case: the querysets annotate ``units_sold``."""

    marketplace = serializers.CharField(
        source="marketplace.code", read_only=True, help_text="Marketplace code, e.g. 'us'."
    )
    units_sold = serializers.IntegerField(
        read_only=True, help_text="Units of this listing sold to customers."
    )

    class Meta:
        model = Listing
        fields = [
            "id",
            "external_id",
            "title",
            "url",
            "marketplace",
            "price",
            "currency",
            "status",
            "delisted_at",
            "units_sold",
        ]
        read_only_fields = fields
        extra_kwargs = {"status": {"help_text": "active or delisted."}}


class ListingSerializer(ListingSummarySerializer):
    """A listing in the analyst's list, with its seller and product."""

    seller = SellerRefSerializer(read_only=True)
    product = ProductSerializer(read_only=True)

    class Meta(ListingSummarySerializer.Meta):
        fields = [*ListingSummarySerializer.Meta.fields, "seller", "product", "created_at"]
        read_only_fields = fields
