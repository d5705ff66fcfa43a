"""The analyst's listing endpoint."""

from django.db.models import QuerySet, Sum
from django.db.models.functions import Coalesce
from rest_framework import mixins
from rest_framework.viewsets import GenericViewSet

from counterfeits.api.permissions import IsAnalyst
from listings.filtersets import ListingFilterSet
from listings.models import Listing

from .serializers import ListingSerializer


class ListingViewSet(mixins.ListModelMixin, GenericViewSet):
    """Listings with their seller, product and units sold."""

    permission_classes = [IsAnalyst]
    filterset_class = ListingFilterSet
    serializer_class = ListingSerializer

    def get_queryset(self) -> QuerySet[Listing]:
        return (
            Listing.objects.select_related("seller", "product__brand", "marketplace")
            .annotate(units_sold=Coalesce(Sum("sales__units"), 0))
            .order_by("id")
        )
