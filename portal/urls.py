from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", views.PortalLoginView.as_view(), name="login"),
    path(
        "logout/",
        auth_views.LogoutView.as_view(next_page=reverse_lazy("portal:login")),
        name="logout",
    ),
    path("brands/new/", views.brand_new, name="brand_new"),
    path("brands/<int:brand_id>/", views.brand_detail, name="brand_detail"),
    path("reports/", views.report_list, name="report_list"),
    path("reports/new/", views.report_new, name="report_new"),
    path("reports/<int:report_id>/", views.report_detail, name="report_detail"),
    path("evidence/<int:evidence_id>/", views.evidence_download, name="evidence"),
    path("analyst/brands/", views.analyst_brands, name="analyst_brands"),
    path(
        "analyst/brands/<int:brand_id>/verify/",
        views.analyst_verify_brand,
        name="analyst_verify_brand",
    ),
    path("analyst/reports/<int:report_id>/", views.analyst_report, name="analyst_report"),
]
