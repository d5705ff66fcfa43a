from rest_framework.routers import SimpleRouter

from .views import SellerViewSet

router = SimpleRouter()
router.register("sellers", SellerViewSet, basename="api-seller")

urlpatterns = router.urls
