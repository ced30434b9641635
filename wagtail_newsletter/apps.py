from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WagtailNewsletterConfig(AppConfig):
    name = "wagtail_newsletter"
    label = "wagtail_newsletter"
    verbose_name = _("Newsletter")
    # Pinned so that projects never get migrations generated inside our package.
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # A lower floor that must reach a higher one offers a hook; the app connects them here
        # (docs/developers/architecture.md).
        from . import schedules  # noqa: F401  (post_migrate: registers the django-q2 schedules)
        from .deliverability import guards
        from .growth import follow_ups, preference_centre
        from .send import (
            campaigns,
            planner,
            system_mail,  # noqa: F401  (receives audience's confirmation_requested)
        )
        from .send import links as send_links
        from .track import events  # noqa: F401  (receives audience's subscribers_erased: hits lose their IP prefix)
        from .track import links as track_links

        send_links.set_endpoint_resolver(track_links.endpoint_path)  # mail links lead to track's public views
        send_links.set_endpoint_resolver(preference_centre.endpoint_path, ["preferences"])  # and to growth's page
        planner.set_follow_up_audience(follow_ups.follow_up_recipients)  # follow-ups are read from tracking
        from .growth import ab_tests

        # Campaigns to or without segments; an A/B variant to its sample, its test's rest campaign without the samples.
        planner.set_segment_audience(ab_tests.campaign_audience)
        campaigns.add_send_check(guards.send_check)  # the audience's recent bounce and complaint rates
        campaigns.add_send_check(ab_tests.rest_send_check)  # an A/B test's rest campaign starts through its test
        from .deliverability import refusals
        from .send import claims

        claims.set_refusal_handler(refusals.apply_refusals)  # a refusal at SMTP time has a bounce's effects
        from .growth import conversions

        conversions.connect()  # a click's conversion cookie (track's link_followed), form goals (post_save)
        from .growth.automations import triggers as automation_triggers

        automation_triggers.connect()  # confirmations and group joins (audience's signals) start automations
        from .api.webhooks import receivers  # noqa: F401  (send's campaign_status_changed: campaign webhooks)

        self._connect_anymail()

    @staticmethod
    def _connect_anymail():
        """Bounces, complaints and unsubscribes reported by a sending service through django-anymail's webhooks
        (an optional dependency: the ``anymail`` extra)."""
        try:
            from anymail.signals import tracking
        except ImportError:
            return
        from .deliverability.esp_events import receive_tracking

        tracking.connect(receive_tracking, dispatch_uid="wagtail_newsletter.esp_events")
