"""The authority API: list, read, download and acknowledge referrals; publish signing keys.

Thin: the queryset decides who sees what (an authority its own referrals, analysts all), the
services change state and write the access log. Another authority's referral is a 404 — the
caller must not learn that it exists.
"""

from datetime import tzinfo
from typing import Any

from django.http import Http404, HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from config.api import iso_datetime
from config.clients import client_ip
from config.pagination import IdCursorPagination
from counterfeits.roles import is_analyst

from .. import services
from ..authentication import AuthorityPrincipal
from ..choices import AccessAction
from ..filtersets import ReferralFilterSet
from ..models import ApiToken, Authority, Referral, SigningKey
from ..pdf import render_packet_pdf
from ..throttling import ApiClientRateThrottle
from .serializers import (
    AcknowledgeSerializer,
    PacketSerializer,
    ReferralDetailSerializer,
    ReferralSummarySerializer,
    SigningKeySerializer,
)

# PostgreSQL's bigint: a larger id in the URL cannot exist, and must be a 404, not a 500.
MAX_ID = 2**63 - 1

Error = inline_serializer("Error", fields={"detail": serializers.CharField()})
REFERRAL_ID = OpenApiParameter(
    "id",
    OpenApiTypes.INT,
    OpenApiParameter.PATH,
    description="The referral's id (the same as referral_id in its packet).",
)
FIELD_ERRORS = OpenApiResponse(
    {
        "type": "object",
        "description": "Each invalid field or filter, with what is wrong with it.",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
    description="A malformed filter or field; the body names each one.",
)
ERRORS = {
    401: OpenApiResponse(Error, description="No token, or an invalid, expired or revoked one."),
    403: OpenApiResponse(Error, description="The caller is neither an authority nor an analyst."),
    404: OpenApiResponse(Error, description="No such referral addressed to the caller."),
    429: OpenApiResponse(Error, description="Too many requests; retry after Retry-After seconds."),
}


class PDFRenderer(BaseRenderer):
    """Lets clients ask for ``Accept: application/pdf``; the view returns the bytes itself."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None):
        return data


def is_authority_client(user: object) -> bool:
    return isinstance(user, AuthorityPrincipal) and user.authority is not None


class CanReadReferrals(permissions.BasePermission):
    """Authority clients read their own referrals; analysts read all of them, read-only."""

    message = "Only authority clients and analysts may read referrals."

    def has_permission(self, request: Request, view: Any) -> bool:
        if is_authority_client(request.user):
            return True
        return is_analyst(request.user) and (
            request.method in permissions.SAFE_METHODS
            or getattr(view, "action", None) != "acknowledge"
        )


FILTER_NAMES = frozenset(ReferralFilterSet.base_filters)
# What one line of the list reads; summary_row shapes it like ReferralSummarySerializer.
SUMMARY_COLUMNS = (
    "id",
    "authority_id",
    "status",
    "case_id",
    "brand_name",
    "seller_country",
    "sha256",
    "key_id",
    "created_at",
    "delivered_at",
    "acknowledged_at",
    "authority_reference",
    "retracted_at",
    "retraction_reason",
)


def summary_row(
    row: dict[str, Any], codes: dict[int, str], detail_prefix: str, zone: tzinfo
) -> dict[str, Any]:
    """One referral of the list, from ``.values(*SUMMARY_COLUMNS)``: the serializer's shape.

    ``codes`` maps authority ids to codes; ``detail_prefix`` is the detail URL without its id
    (one reverse() per page, not per row).
    """
    pk = row["id"]
    return {
        "id": pk,
        "url": f"{detail_prefix}{pk}/",
        "authority": codes[row["authority_id"]],
        "status": row["status"],
        "case_id": row["case_id"],
        "brand": row["brand_name"],
        "seller_country": row["seller_country"],
        "sha256": row["sha256"],
        "key_id": row["key_id"],
        "created_at": iso_datetime(row["created_at"], zone),
        "delivered_at": iso_datetime(row["delivered_at"], zone),
        "acknowledged_at": iso_datetime(row["acknowledged_at"], zone),
        "authority_reference": row["authority_reference"],
        "retracted_at": iso_datetime(row["retracted_at"], zone),
        "retraction_reason": row["retraction_reason"],
    }


def record_access(
    request: Request, action_name: str, referral: Referral | None, *, durable: bool = True
) -> None:
    token = request.auth if isinstance(request.auth, ApiToken) else None
    user = None if isinstance(request.user, AuthorityPrincipal) else request.user
    services.log_access(
        action=action_name,
        referral=referral,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        token=token,
        user=user,
        durable=durable,
    )


@extend_schema_view(
    list=extend_schema(
        summary="List your referrals",
        description="Your referrals, oldest first, cursor-paginated: follow `next` until it is "
        "null, and keep the last `next` to resume later. Retracted referrals stay listed with "
        "status `retracted`.",
        responses={200: ReferralSummarySerializer(many=True), 400: FIELD_ERRORS, **ERRORS},
        tags=["authority"],
    ),
    retrieve=extend_schema(
        summary="Read one referral with its packet",
        description="The referral with its packet, digest and signature. Each read is written "
        "to the access log.",
        parameters=[REFERRAL_ID],
        responses={200: ReferralDetailSerializer, **ERRORS},
        tags=["authority"],
    ),
)
class ReferralViewSet(viewsets.ReadOnlyModelViewSet):
    """Referrals addressed to the calling authority (or all of them, for an analyst)."""

    permission_classes = [CanReadReferrals]
    throttle_classes = [ApiClientRateThrottle]
    pagination_class = IdCursorPagination
    filterset_class = ReferralFilterSet
    queryset = Referral.objects.none()

    def get_queryset(self):
        referrals = Referral.objects.select_related("authority").order_by("id")
        user = self.request.user
        if is_authority_client(user):
            return referrals.filter(authority_id=user.authority.pk)
        if is_analyst(user):
            return referrals
        return referrals.none()

    def get_serializer_class(self):
        if self.action == "list":
            return ReferralSummarySerializer
        if self.action == "acknowledge":
            return AcknowledgeSerializer
        return ReferralDetailSerializer

    def get_object(self) -> Referral:
        raw = self.kwargs.get("pk")
        if raw is None or not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_ID:
            raise Http404
        return super().get_object()

    def get_renderers(self):
        # Routes are explicit paths (no router), so the action's renderer_classes are set here.
        if getattr(self, "action", None) == "packet_pdf":
            return [JSONRenderer(), PDFRenderer()]
        return super().get_renderers()

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any):
        # An error on the PDF endpoint is still a JSON error body, whatever the client accepts.
        if isinstance(response, Response) and isinstance(
            getattr(request, "accepted_renderer", None), PDFRenderer
        ):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The hot path of every puller: the page is read with .values() and shaped by a plain
        # function (the same fields and formats as ReferralSummarySerializer, which stays the
        # documented schema); building model instances and a serializer per row cost 4x more.
        rows = self.get_queryset().select_related(None)
        if not FILTER_NAMES.isdisjoint(request.query_params):
            # Building and validating the filter form costs as much as the page query: only
            # when the caller filters at all.
            rows = self.filter_queryset(rows)
        page = self.paginate_queryset(rows.values(*SUMMARY_COLUMNS))
        user = request.user
        if is_authority_client(user):
            codes = {user.authority.pk: user.authority.code}  # no join for the common caller
        else:
            codes = dict(Authority.objects.values_list("id", "code"))
        prefix = reverse("referral-detail", kwargs={"pk": 0}, request=request)[:-2]
        zone = timezone.get_current_timezone()
        data = [summary_row(row, codes, prefix, zone) for row in page]
        response = self.get_paginated_response(data)
        # A list shows no packet: its log line need not wait for the WAL flush (log_access).
        # Pullers list all day; a flush each request halved throughput.
        record_access(request, AccessAction.LIST, None, durable=False)
        return response

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        referral = self.get_object()
        data = ReferralDetailSerializer(referral, context=self.get_serializer_context()).data
        record_access(request, AccessAction.READ_JSON, referral)
        return Response(data)

    @extend_schema(
        summary="The packet's exact signed bytes",
        operation_id="referrals_packet_json",
        parameters=[REFERRAL_ID],
        description="The canonical JSON (sorted keys, no white space, UTF-8) exactly as signed. "
        "Hash these bytes with SHA-256 and compare with `sha256`; verify `signature` over the "
        "raw digest with the key named by `key_id`. Headers repeat the digest, signature and "
        "key id. Each read is written to the access log.",
        responses={
            (200, "application/json"): OpenApiResponse(PacketSerializer),
            **ERRORS,
        },
        tags=["authority"],
    )
    @action(detail=True, methods=["get"], url_path="packet.json", url_name="packet-json")
    def packet_json(self, request: Request, pk: str | None = None) -> HttpResponse:
        referral = self.get_object()
        record_access(request, AccessAction.READ_JSON, referral)
        response = HttpResponse(
            referral.packet_json.encode("utf-8"), content_type="application/json"
        )
        response["X-Touchstone-SHA256"] = referral.sha256
        response["X-Touchstone-Signature"] = referral.signature
        response["X-Touchstone-Key-Id"] = referral.key_id
        return response

    @extend_schema(
        summary="The packet as a printable PDF",
        operation_id="referrals_packet_pdf",
        parameters=[REFERRAL_ID],
        description="Seller, company, contact, products, evidence with digests and timeline; "
        "the packet's SHA-256 and key id on every page; a retraction note if it was withdrawn. "
        "Each download is written to the access log.",
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY),
            **ERRORS,
        },
        tags=["authority"],
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="packet.pdf",
        url_name="packet-pdf",
    )
    def packet_pdf(self, request: Request, pk: str | None = None) -> HttpResponse:
        referral = self.get_object()
        pdf = render_packet_pdf(referral)
        record_access(request, AccessAction.READ_PDF, referral)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="referral-{referral.pk}.pdf"'
        response["X-Touchstone-SHA256"] = referral.sha256
        return response

    @extend_schema(
        summary="Acknowledge a referral with your reference",
        operation_id="referrals_acknowledge",
        parameters=[REFERRAL_ID],
        description="Records that you received the referral, under your own reference. "
        "Idempotent: repeating it with the same reference returns the referral unchanged; a "
        "different reference after acknowledging is refused with 409. Written to the access "
        "log. Analysts may not acknowledge (403).",
        request=AcknowledgeSerializer,
        responses={
            200: ReferralDetailSerializer,
            400: FIELD_ERRORS,
            409: OpenApiResponse(Error, description="Already acknowledged with another ref."),
            **ERRORS,
        },
        examples=[
            OpenApiExample(
                "Acknowledge", value={"authority_reference": "IPRC-2025-000123"}, request_only=True
            )
        ],
        tags=["authority"],
    )
    @action(detail=True, methods=["post"], url_path="acknowledge", url_name="acknowledge")
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        referral = self.get_object()
        body = AcknowledgeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            referral = services.acknowledge_referral(
                referral.pk, authority_reference=body.validated_data["authority_reference"]
            )
        except services.ReferralConflict as exc:
            return Response(
                {"detail": str(exc), "code": "already_acknowledged"},
                status=status.HTTP_409_CONFLICT,
            )
        record_access(request, AccessAction.ACKNOWLEDGE, referral)
        return Response(
            ReferralDetailSerializer(referral, context=self.get_serializer_context()).data
        )


@extend_schema(
    summary="Public keys that verify packet signatures",
    description="The current key and every retired one: a packet names its key by `key_id`. "
    "Public: no token needed.",
    responses={200: SigningKeySerializer(many=True), 401: ERRORS[401], 429: ERRORS[429]},
    tags=["authority"],
)
class SigningKeyListView(generics.ListAPIView):
    """Every signing key, current and retired, oldest first."""

    serializer_class = SigningKeySerializer
    permission_classes = [permissions.AllowAny]
    throttle_classes = [ApiClientRateThrottle]
    pagination_class = None
    queryset = SigningKey.objects.order_by("created_at", "id")
