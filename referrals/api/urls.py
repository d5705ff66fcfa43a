"""Authority API routes. Explicit paths: ``packet.pdf`` and ``packet.json`` take no slash."""

from django.urls import path

from .views import ReferralViewSet, SigningKeyListView

urlpatterns = [
    path("referrals/", ReferralViewSet.as_view({"get": "list"}), name="referral-list"),
    path(
        "referrals/<int:pk>/", ReferralViewSet.as_view({"get": "retrieve"}), name="referral-detail"
    ),
    path(
        "referrals/<int:pk>/packet.json",
        ReferralViewSet.as_view({"get": "packet_json"}),
        name="referral-packet-json",
    ),
    path(
        "referrals/<int:pk>/packet.pdf",
        ReferralViewSet.as_view({"get": "packet_pdf"}),
        name="referral-packet-pdf",
    ),
    path(
        "referrals/<int:pk>/acknowledge/",
        ReferralViewSet.as_view({"post": "acknowledge"}),
        name="referral-acknowledge",
    ),
    path("signing-keys/", SigningKeyListView.as_view(), name="signing-key-list"),
]
