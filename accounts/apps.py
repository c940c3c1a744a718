from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "accounts"

    def ready(self):
        from django.contrib import admin
        from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

        from accounts import schema  # noqa: F401  (registers the OpenAPI authentication extension)
        from accounts.admin_site import SecondFactorAdminSite

        # Django admin answers only sessions verified with a second factor, when the person needs one.
        admin.site.__class__ = SecondFactorAdminSite
        # simplejwt's token lists span every organisation: not for Django admin (people are signed out by
        # deactivating them or ending their membership; tokens then stop working at once).
        for model in (OutstandingToken, BlacklistedToken):
            if admin.site.is_registered(model):
                admin.site.unregister(model)
