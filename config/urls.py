from django.contrib import admin
from django.urls import include, path

from config.health import healthz
from workbench.views import AdminLoginView, LockoutLoginView, ThrottledPasswordResetView

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Before the admin's own: its login page with the same failed-login lockout.
    path("admin/login/", AdminLoginView.as_view(), name="admin_login"),
    path("admin/", admin.site.urls),
    # Before Django's own: the login page with failed-login lockout.
    path("accounts/login/", LockoutLoginView.as_view(), name="login"),
    # Before Django's own: password reset with hourly e-mail budgets.
    path(
        "accounts/password_reset/",
        ThrottledPasswordResetView.as_view(),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("config.api_urls")),
    path("portal/", include("portal.urls")),
    path("appeal/", include("appeals.urls")),
    path("", include("sellers.urls")),
    path("", include("workbench.urls")),
]

# JSON for API paths no route matches, HTML elsewhere (config/errors.py).
handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"
