"""Django admin for sessions verified with a second factor (when the person's sign-in needs one)."""

from django.contrib.admin import AdminSite

from kernel.mfa import is_verified, second_factor_applies


class SecondFactorAdminSite(AdminSite):
    """AdminSite whose pages need a verified session from people whose sign-in needs a second factor
    (every admin user under MFA_REQUIRED_FOR=staff). Signing in goes through the workspace's login and its
    second step (accounts.middleware), which sends people back here once verified."""

    def has_permission(self, request):
        user = request.user
        return super().has_permission(request) and (not second_factor_applies(user) or is_verified(user))
