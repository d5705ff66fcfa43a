from django.urls import path

from . import views

app_name = "appeals"

urlpatterns = [
    path("<str:token>/", views.seller_case, name="seller_case"),
    path("<str:token>/evidence/<int:evidence_id>/", views.seller_evidence, name="seller_evidence"),
]
