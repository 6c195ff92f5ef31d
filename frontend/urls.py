from django.urls import path

from . import views

app_name = "frontend"

urlpatterns = [
    path("", views.main_page, name="main"),
    path("login/", views.login_page, name="login"),
    path("register/", views.register_page, name="register"),
    path("recordings/", views.recordings_page, name="recordings"),
    path("u/<str:username>/", views.friend_page, name="friend"),
]
