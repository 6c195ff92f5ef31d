from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = "Accounts and friends"

    def ready(self) -> None:
        from .signals import connect_receivers

        connect_receivers()
