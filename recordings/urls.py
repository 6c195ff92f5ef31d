"""The recordings API's URL patterns (mounted under ``/api/`` by ``fc25_denoise/urls.py``).

The views that queue jobs take a :class:`~.views.JobWiring` as an extra view
argument, so the patterns are built by the composition root that has one.
"""

from django.urls import URLPattern, path

from . import views


def recording_urls(wiring: views.JobWiring) -> list[URLPattern]:
    jobs = {"wiring": wiring}
    return [
        path("recordings/", views.recording_list),
        path("recordings/import/", views.import_recording, jobs),
        path("recordings/<int:recording_id>/", views.recording_detail),
        path("recordings/<int:recording_id>/audio/", views.recording_audio),
        path("recordings/<int:recording_id>/peaks/", views.recording_peaks),
        path("recordings/<int:recording_id>/reclean/", views.reclean, jobs),
    ]
