"""The analyst's appeal review endpoints."""

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from appeals.filtersets import AppealFilterSet
from appeals.models import Appeal, AppealEvidence
from appeals.services import decide_appeal
from counterfeits.api.permissions import IsAnalyst
from counterfeits.exceptions import PermissionRefused

from .serializers import AppealDecisionSerializer, AppealSerializer


class AppealViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    """Appeals for analysts to review: oldest filed first."""

    permission_classes = [IsAnalyst]
    filterset_class = AppealFilterSet
    serializer_class = AppealSerializer

    def get_queryset(self) -> QuerySet[Appeal]:
        # The files in one query per page, whatever the number of appeals on it.
        files = AppealEvidence.objects.order_by("uploaded_at", "id")
        return (
            Appeal.objects.select_related(
                "case__brand", "case__seller", "case__confirmed_by", "decided_by"
            )
            .prefetch_related(Prefetch("evidence", queryset=files))
            .order_by("filed_at", "id")
        )

    def get_serializer_class(self) -> type:
        return AppealDecisionSerializer if self.action == "decide" else AppealSerializer

    @extend_schema(
        request=AppealDecisionSerializer,
        responses={
            200: AppealSerializer,
            400: OpenApiResponse(description="Field errors in the body."),
            403: OpenApiResponse(description="You confirmed this case, or are no analyst."),
            404: OpenApiResponse(description="No such appeal."),
            409: OpenApiResponse(description="Already decided, or the case's state forbids it."),
        },
    )
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: str | None = None) -> Response:
        appeal = self.get_object()
        body = AppealDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # decide_appeal raises out of its own transaction: a refusal has changed nothing.
        try:
            decide_appeal(
                appeal.pk,
                outcome=body.validated_data["outcome"],
                actor=request.user,
                reason=body.validated_data["reason"],
            )
        except PermissionRefused as exc:
            raise PermissionDenied(str(exc)) from exc
        except ValueError as exc:
            raise ValidationError({"outcome": [str(exc)]}) from exc
        fresh = self.get_queryset().get(pk=appeal.pk)
        return Response(AppealSerializer(fresh, context=self.get_serializer_context()).data)
