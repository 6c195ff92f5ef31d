from django.apps import AppConfig


class RecordingsConfig(AppConfig):
    name = "recordings"
    verbose_name = "Recordings"

    def ready(self) -> None:
        from .signals import connect_receivers

        connect_receivers()
