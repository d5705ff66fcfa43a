"""The brand-report and case endpoints. Thin: validate, call a service, answer."""

from django.db.models import Prefetch, QuerySet, Sum
from django.db.models.functions import Coalesce
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from appeals.models import AppealEvidence
from config.parsers import JSONParser
from counterfeits.choices import TRANSITIONS
from counterfeits.exceptions import PermissionRefused
from counterfeits.filtersets import CaseFilterSet, ReportFilterSet
from counterfeits.models import Case, CaseEvent, Evidence, Report
from counterfeits.services import (
    add_case_evidence,
    add_case_listings,
    open_case,
    reports_visible_to,
    run_transition,
)
from listings.models import Listing
from referrals.models import Referral

from .idempotency import HEADER as IDEMPOTENCY_HEADER
from .idempotency import MAX_KEY_LENGTH, idempotent
from .permissions import IsAnalyst, IsAnalystOrBrandOwner
from .serializers import (
    CaseDetailSerializer,
    CaseEvidenceAddSerializer,
    CaseListingsAddSerializer,
    CaseOpenSerializer,
    CaseSerializer,
    ReportCreateSerializer,
    ReportSerializer,
    TransitionSerializer,
    file_validated_report,
    filed_report_body,
    plain_report_data,
)

REFUSED = {
    400: OpenApiResponse(description="Field errors in the body."),
    403: OpenApiResponse(description="Your role may not do this."),
    404: OpenApiResponse(description="No such object, or not one you may see."),
    409: OpenApiResponse(description="Not allowed in the case's current state; nothing changed."),
}


class ReportViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, GenericViewSet
):
    """Brand owners file and follow reports of their brands; analysts see every report."""

    permission_classes = [IsAnalystOrBrandOwner]
    filterset_class = ReportFilterSet
    # JSON, or multipart/form-data when evidence files come with the report.
    parser_classes = [JSONParser, MultiPartParser]

    def get_queryset(self) -> QuerySet[Report]:
        if getattr(self, "swagger_fake_view", False):
            # The schema generator's request has no user: reports_visible_to cannot run.
            return Report.objects.none()
        reports = (
            reports_visible_to(self.request.user)
            .select_related("brand", "seller")
            .prefetch_related(
                Prefetch("listings", queryset=Listing.objects.only("id")),
                Prefetch("evidence", queryset=Evidence.objects.order_by("id")),
            )
            .order_by("-id")
        )
        return reports

    def get_serializer_class(self) -> type:
        return ReportCreateSerializer if self.action == "create" else ReportSerializer

    @extend_schema(
        request=ReportCreateSerializer,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
                OpenApiParameter.HEADER,
                description="Retry freely with the same key: the same request replays the first "
                "answer and files nothing twice; another request with that key is a 422.",
            ),
            OpenApiParameter(
                "Idempotent-Replayed",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                enum=["true"],
                response=[201],
                description="Present when the answer is the replay of an earlier request.",
            ),
        ],
        responses={
            201: ReportSerializer,
            400: REFUSED[400],
            403: REFUSED[403],
            409: OpenApiResponse(
                description="The brand's report intake is suspended (DSA Art. 23)."
            ),
            422: OpenApiResponse(
                description="This Idempotency-Key was used with a different request."
            ),
        },
    )
    @idempotent
    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        plain = plain_report_data(request.data, request)
        if plain is not None:
            # A plain JSON report, valid as the serializer would find it (the hot path).
            report = file_validated_report(plain, reporter=request.user, evidence=[])
            return Response(filed_report_body(report), status=status.HTTP_201_CREATED)
        body = ReportCreateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        report = body.save()
        # The report as filed: its brand and seller are in hand and file_report hands over
        # its listings and evidence as a prefetch, so nothing just written is read back.
        return Response(ReportSerializer(report).data, status=status.HTTP_201_CREATED)


def case_detail_queryset() -> QuerySet[Case]:
    """A case with every relation the detail shows, in a fixed number of queries."""
    listings = (
        Listing.objects.select_related("marketplace")
        .annotate(units_sold=Coalesce(Sum("sales__units"), 0))
        .order_by("id")
    )
    return Case.objects.select_related(
        "brand", "seller", "assignee", "opened_by", "confirmed_by", "appeal__decided_by"
    ).prefetch_related(
        Prefetch("events", queryset=CaseEvent.objects.order_by("seq")),
        Prefetch("listings", queryset=listings),
        Prefetch("reports", queryset=Report.objects.only("id", "case_id").order_by("id")),
        Prefetch("referrals", queryset=Referral.objects.select_related("authority")),
        Prefetch("appeal__evidence", queryset=AppealEvidence.objects.order_by("uploaded_at", "id")),
    )


class CaseViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, GenericViewSet
):
    """Analysts list, open and read cases, and run transitions on them."""

    permission_classes = [IsAnalyst]
    filterset_class = CaseFilterSet

    def get_queryset(self) -> QuerySet[Case]:
        if self.action == "retrieve":
            return case_detail_queryset()
        if self.action == "list":
            return Case.objects.select_related("brand", "seller", "assignee").order_by("-id")
        return Case.objects.all()

    def get_serializer_class(self) -> type:
        if self.action == "list":
            return CaseSerializer
        if self.action == "create":
            return CaseOpenSerializer
        if self.action == "transition":
            return TransitionSerializer
        if self.action == "add_evidence":
            return CaseEvidenceAddSerializer
        if self.action == "add_listings":
            return CaseListingsAddSerializer
        return CaseDetailSerializer

    def _detail(self, case_id: int) -> dict:
        case = case_detail_queryset().get(pk=case_id)
        return CaseDetailSerializer(case, context=self.get_serializer_context()).data

    @extend_schema(
        request=CaseOpenSerializer,
        responses={201: CaseDetailSerializer, 400: REFUSED[400], 403: REFUSED[403]},
    )
    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        body = CaseOpenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            case = open_case(
                report_ids=body.validated_data["report_ids"],
                actor=request.user,
                reason=body.validated_data["reason"],
            )
        except ValueError as exc:
            raise ValidationError({"report_ids": [str(exc)]}) from exc
        return Response(self._detail(case.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="cases_transition",
        summary="Run one transition of the case lifecycle",
        parameters=[
            OpenApiParameter(
                "name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(TRANSITIONS)
            ),
        ],
        request=TransitionSerializer,
        responses={200: CaseDetailSerializer, **REFUSED},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"transitions/(?P<name>[^/]+)",
        url_name="transition",
    )
    def transition(self, request: Request, pk: str | None = None, name: str = "") -> Response:
        if name not in TRANSITIONS:
            raise NotFound(f"No transition named {name!r}.")
        case = self.get_object()
        body = TransitionSerializer(data=request.data, context={"transition": name})
        body.is_valid(raise_exception=True)
        # The service runs in its own transaction and raises out of it, so a refusal
        # (TransitionRefused → 409) rolls everything back before it reaches this view.
        try:
            run_transition(case.pk, name, actor=request.user, **body.validated_data)
        except PermissionRefused as exc:
            raise PermissionDenied(str(exc)) from exc
        except ValueError as exc:
            field = "statement" if name == "file_appeal" else "reason"
            raise ValidationError({field: [str(exc)]}) from exc
        return Response(self._detail(case.pk))

    @extend_schema(
        operation_id="cases_add_evidence",
        summary="Add evidence files to an open case",
        description=(
            "multipart/form-data: repeat `files` once per file; `kind` and `description` apply "
            "to every file. Each file is checked by its content and stored under its SHA-256; a "
            "file already evidence of the case is not stored again. Only while the case is "
            "`open` (409 otherwise); one refused file refuses all and nothing is stored."
        ),
        request={"multipart/form-data": CaseEvidenceAddSerializer},
        responses={
            201: CaseDetailSerializer,
            200: OpenApiResponse(
                CaseDetailSerializer, description="Every file was already evidence of the case."
            ),
            **REFUSED,
        },
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="evidence",
        url_name="evidence",
        parser_classes=[MultiPartParser],
    )
    def add_evidence(self, request: Request, pk: str | None = None) -> Response:
        case = self.get_object()
        body = CaseEvidenceAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # ValidationError (400) and TransitionRefused (409) come out of the service's own
        # transaction: nothing is stored on either.
        data = body.validated_data
        stored = add_case_evidence(
            case.pk,
            actor=request.user,
            uploads=data["files"],
            kind=data["kind"],
            description=data["description"],
        )
        code = status.HTTP_201_CREATED if stored else status.HTTP_200_OK
        return Response(self._detail(case.pk), status=code)

    @extend_schema(
        operation_id="cases_add_listings",
        summary="Add listings of the case's seller to an open case",
        description=(
            'Body `{"listing_ids": [...]}`: listings of the case\'s seller and brand (400 '
            "otherwise). Only while the case is `open` (409 otherwise). A listing already on "
            "the case is left as it is; one of a safety-risk product makes the case one."
        ),
        request=CaseListingsAddSerializer,
        responses={200: CaseDetailSerializer, **REFUSED},
    )
    @action(detail=True, methods=["post"], url_path="listings", url_name="listings")
    def add_listings(self, request: Request, pk: str | None = None) -> Response:
        case = self.get_object()
        body = CaseListingsAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        add_case_listings(case.pk, actor=request.user, **body.validated_data)
        return Response(self._detail(case.pk))
