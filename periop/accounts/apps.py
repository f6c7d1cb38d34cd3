from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "periop.accounts"
    label = "accounts"
    verbose_name = "Departments and users"

    def ready(self) -> None:
        from periop.accounts import checks  # noqa: F401  (registers the deploy check)
