from django.urls import path

from . import ice, views

urlpatterns = [
    path("webrtc/offer/", views.offer),
    path("webrtc/ice-servers/", ice.ice_servers),
    path("webrtc/listen/<str:key>/", views.listen),
    path("streams/stop/", views.stop),
    path("streams/active/", views.active),
    path("streams/settings/", views.stream_settings),
]
