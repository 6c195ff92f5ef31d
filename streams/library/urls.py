from django.urls import path

from . import views

urlpatterns = [
    path("recordings/", views.recording_list),
    path("recordings/import/", views.import_recording),
    path("recordings/<int:recording_id>/", views.recording_detail),
    path("recordings/<int:recording_id>/audio/", views.recording_audio),
    path("recordings/<int:recording_id>/peaks/", views.recording_peaks),
    path("recordings/<int:recording_id>/reclean/", views.reclean),
]
