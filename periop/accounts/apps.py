from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "periop.accounts"
    label = "accounts"
    verbose_name = "Departments and users"
