from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WagtailNewsletterConfig(AppConfig):
    name = "wagtail_newsletter"
    label = "wagtail_newsletter"
    verbose_name = _("Newsletter")
    # Pinned so that projects never get migrations generated inside our package.
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Receivers: a lower floor tells a higher one through a signal it defines (docs/developers/architecture.md).
        from . import schedules  # noqa: F401  (post_migrate: registers the django-q2 schedules)
        from .send import system_mail  # noqa: F401  (audience's confirmation_requested: queues the confirmation email)
        from .track import events  # noqa: F401  (audience's subscribers_erased: hits lose their IP prefix)
