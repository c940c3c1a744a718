from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "accounts"

    def ready(self):
        from django.contrib import admin

        from accounts.admin_site import SecondFactorAdminSite

        # Django admin answers only sessions verified with a second factor, when the person needs one.
        admin.site.__class__ = SecondFactorAdminSite
