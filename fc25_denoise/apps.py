"""The project package as a Django app: its ``runserver`` command, and metrics hooks."""

from django.apps import AppConfig


class Fc25DenoiseConfig(AppConfig):
    """Connects the metrics hooks once the app registry is ready."""

    name = "fc25_denoise"

    def ready(self) -> None:
        """Install the metrics hooks (:func:`fc25_denoise.metrics.install`)."""
        from fc25_denoise import metrics

        metrics.install()
