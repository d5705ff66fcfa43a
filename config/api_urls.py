from django.urls import include, path

urlpatterns = [
    path("", include("counterfeits.api.urls")),
    path("", include("appeals.api.urls")),
    path("", include("sellers.api.urls")),
    path("", include("listings.api.urls")),
    path("", include("referrals.api.urls")),
]
