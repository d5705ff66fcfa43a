"""``GET /api/v1/sellers/{id}/network/``: the seller's linked-seller group as nodes and edges."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from counterfeits.api.permissions import IsAnalyst
from sellers.models import Seller
from sellers.rings import network


class NetworkCaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    brand = serializers.CharField()


class NetworkNodeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    company_name = serializers.CharField()
    country = serializers.CharField()
    status = serializers.CharField()
    cases = NetworkCaseSerializer(many=True)


class SharedIdentifierSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    value = serializers.CharField(help_text="Masked: enough to recognise, never the full value.")


class NetworkEdgeSerializer(serializers.Serializer):
    seller_a = serializers.IntegerField()
    seller_b = serializers.IntegerField()
    kinds = serializers.ListField(child=serializers.CharField())
    shared = SharedIdentifierSerializer(many=True)


class NetworkSerializer(serializers.Serializer):
    seller = serializers.IntegerField()
    group = serializers.IntegerField(allow_null=True)
    truncated = serializers.BooleanField()
    nodes = NetworkNodeSerializer(many=True)
    edges = NetworkEdgeSerializer(many=True)


class SellerNetworkView(APIView):
    """The group of sellers linked to this one through shared identifiers (analysts only)."""

    permission_classes = [IsAnalyst]

    @extend_schema(responses=NetworkSerializer, operation_id="sellers_network")
    def get(self, request: Request, pk: int) -> Response:
        seller = get_object_or_404(Seller, pk=pk)
        return Response(NetworkSerializer(network(seller)).data)
