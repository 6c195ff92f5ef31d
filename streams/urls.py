from django.urls import path

from . import views

urlpatterns = [
    path("webrtc/offer/", views.offer),
    path("webrtc/listen/<str:key>/", views.listen),
    path("streams/stop/", views.stop),
    path("streams/active/", views.active),
    path("streams/settings/", views.stream_settings),
]
