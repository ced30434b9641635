from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WagtailNewsletterConfig(AppConfig):
    name = "wagtail_newsletter"
    label = "wagtail_newsletter"
    verbose_name = _("Newsletter")
    # Pinned so that projects never get migrations generated inside our package.
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import schedules  # noqa: F401  (connects post_migrate to register django-q2 schedules)
        from .track import events  # noqa: F401  (receives audience's subscribers_erased: hits lose their IP prefix)
