from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("", include("counterfeits.api.urls")),
    path("", include("appeals.api.urls")),
    path("", include("sellers.api.urls")),
    path("", include("sellers.api.network_urls")),
    path("", include("listings.api.urls")),
    path("", include("referrals.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script (CSP).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]
