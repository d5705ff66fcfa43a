"""The application's URLs plus the baselines, for the bench's gunicorn only."""

from django.urls import include, path

from . import views

urlpatterns = [
    path("bench/ready/", views.ready, name="bench-ready"),
    path("bench/baseline/referrals/", views.baseline_referrals, name="bench-baseline-referrals"),
    path("bench/baseline/reports/", views.baseline_report_insert, name="bench-baseline-reports"),
    path("", include("config.urls")),
]
