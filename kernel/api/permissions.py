"""Who may call an API view: integrators by API key scope, people by Django permission.

Apps' views set `required_scope` (an API key scope: "read", "ingest", "stream"; None = people only)
and `required_perms` (a tuple of "app.codename", or a dict from HTTP method to such a tuple).
The key is recognised by its `scopes`: the ground floor imports no app (apikeys holds the model).
"""

from rest_framework.permissions import BasePermission


def api_key_of(request):
    """The API key that authenticated `request`, or None for a signed-in person."""
    return request.auth if hasattr(request.auth, "scopes") else None


class ScopeOrPermission(BasePermission):
    message = "You do not have permission to perform this action."

    def has_permission(self, request, view) -> bool:
        key = api_key_of(request)
        if key is not None:
            scope = getattr(view, "required_scope", None)
            return scope is not None and scope in key.scopes
        user = request.user
        if not (user and user.is_authenticated):
            return False
        perms = getattr(view, "required_perms", ())
        if isinstance(perms, dict):
            perms = perms.get(request.method, perms.get("*", None))
            if perms is None:
                return False
        return user.has_perms(perms)
