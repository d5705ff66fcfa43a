from django.urls import path

from . import case_building, views

app_name = "workbench"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("cases/", views.queue, name="queue"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("cases/<int:pk>/assign/", views.assign_to_me, name="case-assign"),
    path("cases/<int:pk>/transitions/<str:name>/", views.case_transition, name="case-transition"),
    path("cases/<int:pk>/evidence/", case_building.case_evidence, name="case-evidence"),
    path("cases/<int:pk>/listings/", case_building.case_listings, name="case-listings"),
    path("evidence/<int:pk>/file/", views.evidence_file, name="evidence-file"),
    path("sellers/<int:pk>/", views.seller_detail, name="seller"),
    path("appeals/", views.appeals_queue, name="appeals"),
    path("appeals/<int:pk>/", views.appeal_detail, name="appeal"),
    path(
        "appeals/<int:pk>/evidence/<int:evidence_id>/file/",
        views.appeal_evidence_file,
        name="appeal-evidence-file",
    ),
    path("referrals/", views.referrals, name="referrals"),
    path("referrals/<int:pk>/", views.referral_detail, name="referral"),
    path("referrals/<int:pk>/retry/", views.referral_retry, name="referral-retry"),
]
