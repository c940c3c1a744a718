from django.apps import AppConfig


class ApikeysConfig(AppConfig):
    name = "apikeys"
    verbose_name = "API keys"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from apikeys import schema  # noqa: F401  (registers the OpenAPI authentication extension)
        from apikeys.authentication import forget_cached_key
        from apikeys.models import ApiKey

        post_save.connect(forget_cached_key, sender=ApiKey, dispatch_uid="apikeys.forget_cached_key")
        post_delete.connect(forget_cached_key, sender=ApiKey, dispatch_uid="apikeys.forget_cached_key_deleted")
