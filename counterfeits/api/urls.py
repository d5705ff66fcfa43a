from rest_framework.routers import SimpleRouter

from .views import CaseViewSet, ReportViewSet

router = SimpleRouter()
router.register("reports", ReportViewSet, basename="api-report")
router.register("cases", CaseViewSet, basename="api-case")

urlpatterns = router.urls
