from django.urls import path

from . import views

urlpatterns = [
    path("auth/csrf/", views.csrf),
    path("auth/register/", views.register),
    path("auth/login/", views.login_view),
    path("auth/logout/", views.logout_view),
    path("auth/me/", views.me),
    path("users/search/", views.search),
    path("friends/", views.friends),
    path("friends/requests/", views.requests_collection),
    path("friends/requests/<int:request_id>/", views.cancel),
    path("friends/requests/<int:request_id>/accept/", views.accept),
    path("friends/requests/<int:request_id>/reject/", views.reject),
    path("friends/<str:username>/", views.unfriend),
]
