"""The analyst's seller endpoints."""

from django.db.models import Prefetch, QuerySet
from rest_framework.viewsets import ReadOnlyModelViewSet

from counterfeits.api.permissions import IsAnalyst
from counterfeits.models import Case
from sellers.filtersets import SellerFilterSet
from sellers.models import Seller

from .serializers import SellerDetailSerializer, SellerSerializer


class SellerViewSet(ReadOnlyModelViewSet):
    """Sellers: contact details, status, and (one by one) linked accounts and history."""

    permission_classes = [IsAnalyst]
    filterset_class = SellerFilterSet

    def get_queryset(self) -> QuerySet[Seller]:
        sellers = Seller.objects.order_by("id")
        if self.action == "retrieve":
            cases = Case.objects.select_related("brand").order_by("-id")
            sellers = sellers.prefetch_related("status_changes", Prefetch("cases", queryset=cases))
        return sellers

    def get_serializer_class(self) -> type:
        return SellerDetailSerializer if self.action == "retrieve" else SellerSerializer
