from django.contrib import admin
from django.urls import include, path

from fc25_denoise.health import healthz, readyz
from fc25_denoise.metrics import metrics
from fc25_denoise.runtime import job_runner
from recordings.urls import recording_urls
from recordings.views import JobWiring
from streams.services import engine_defaults

urlpatterns = [
    path("healthz", healthz),
    path("readyz", readyz),
    path("metrics", metrics),
    path("admin/", admin.site.urls),
    path("api/", include("users.urls")),
    path("api/", include("streams.urls")),
    path("api/", include(recording_urls(JobWiring(job_runner, engine_defaults)))),
    path("", include("frontend.urls")),
]

handler400 = "fc25_denoise.errors.handler400"
handler403 = "fc25_denoise.errors.handler403"
handler404 = "fc25_denoise.errors.handler404"
handler500 = "fc25_denoise.errors.handler500"
