from django.urls import path

from . import views

app_name = "visits"

urlpatterns = [
    path("<slug:slug>/", views.visit_detail, name="detail"),
    path("profile/<str:token>/", views.profile_edit, name="profile"),
]
