from django.urls import path

from .network import SellerNetworkView

urlpatterns = [
    path("sellers/<int:pk>/network/", SellerNetworkView.as_view(), name="api-seller-network"),
]
