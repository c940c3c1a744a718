"""Authentication backends: a person's organisation loaded with them, and support access for platform staff."""

from django.contrib.auth.backends import BaseBackend, ModelBackend


class MemberBackend(ModelBackend):
    """Django's model backend, loading the person's membership and organisation with them: one query
    per request, as without organisations."""

    def get_user(self, user_id):
        user_model = self.__class__._user_model()
        try:
            user = user_model._default_manager.select_related("membership__organisation").get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    @staticmethod
    def _user_model():
        from django.contrib.auth import get_user_model

        return get_user_model()


class SupportAccessBackend(BaseBackend):
    """Platform staff who entered an organisation for support read it as its viewers do, every team's cases
    included, and change nothing; outside support they hold no permission on its data."""

    SUPPORT_ROLE = "viewer"
    # Support looks at whatever the organisation asks about, not at one team's queue.
    SUPPORT_EXTRA = ("cases.view_all_cases",)

    def get_all_permissions(self, user_obj, obj=None):
        from organisations.context import current_organisation
        from organisations.selectors import is_platform_staff

        organisation = current_organisation()
        if obj is not None or organisation is None or not user_obj.is_active:
            return set()
        cached = getattr(user_obj, "_support_perm_cache", None)
        if cached is not None and cached[0] == organisation.pk:
            return cached[1]
        permissions = set()
        if is_platform_staff(user_obj):
            from django.contrib.auth.models import Permission

            rows = Permission.objects.filter(group__name=self.SUPPORT_ROLE).values_list(
                "content_type__app_label", "codename"
            )
            permissions = {f"{app}.{codename}" for app, codename in rows} | set(self.SUPPORT_EXTRA)
        user_obj._support_perm_cache = (organisation.pk, permissions)
        return permissions
