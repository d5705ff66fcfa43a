from django.urls import path

from . import views

app_name = "sellers"

urlpatterns = [
    path("sellers/<int:pk>/network/", views.seller_network, name="network"),
    path("sellers/<int:pk>/open-case/", views.open_linked_case, name="open-case"),
]
