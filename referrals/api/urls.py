"""Authority API routes. Explicit paths: ``packet.pdf`` and ``packet.json`` take no slash.

Ids are matched as any segment and checked by the view, so a malformed id is the same JSON
404 as a missing one (not Django's HTML page).
"""

from django.urls import path

from .views import ReferralViewSet, SigningKeyListView

urlpatterns = [
    path("referrals/", ReferralViewSet.as_view({"get": "list"}), name="referral-list"),
    path(
        "referrals/<str:pk>/", ReferralViewSet.as_view({"get": "retrieve"}), name="referral-detail"
    ),
    path(
        "referrals/<str:pk>/packet.json",
        ReferralViewSet.as_view({"get": "packet_json"}),
        name="referral-packet-json",
    ),
    path(
        "referrals/<str:pk>/packet.pdf",
        ReferralViewSet.as_view({"get": "packet_pdf"}),
        name="referral-packet-pdf",
    ),
    path(
        "referrals/<str:pk>/acknowledge/",
        ReferralViewSet.as_view({"post": "acknowledge"}),
        name="referral-acknowledge",
    ),
    path("signing-keys/", SigningKeyListView.as_view(), name="signing-key-list"),
]
