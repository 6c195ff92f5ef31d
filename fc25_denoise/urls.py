from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("users.urls")),
    path("api/", include("streams.urls")),
    path("api/", include("streams.library.urls")),
    path("", include("frontend.urls")),
]

handler404 = "fc25_denoise.api.handler404"
handler500 = "fc25_denoise.api.handler500"
