from rest_framework.routers import SimpleRouter

from .views import AppealViewSet

router = SimpleRouter()
router.register("appeals", AppealViewSet, basename="api-appeal")

urlpatterns = router.urls
