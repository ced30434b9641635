"""django-q2 schedules of wagtail_newsletter, created (idempotently) after ``migrate``."""

from django.db.models.signals import post_migrate
from django.dispatch import receiver

from .growth.ab_start import WINNER_SCHEDULE_PREFIX
from .send.dispatch import CAMPAIGN_START_PREFIX

SCHEDULES = [
    # (name, function, minutes between runs)
    (
        "wagtail_newsletter: erase forgotten subscribers",
        "wagtail_newsletter.audience.services.erase_forgotten",
        60,
    ),
    (
        "wagtail_newsletter: purge unconfirmed sign-ups",
        "wagtail_newsletter.audience.services.purge_unconfirmed",
        60,
    ),
    # Starts scheduled campaigns (backing up their one-off schedules), re-kicks campaigns whose tasks were lost
    # with a killed worker, and marks finished campaigns sent.
    ("wagtail_newsletter: dispatch campaigns", "wagtail_newsletter.send.dispatch.dispatch", 1),
    # Picks the winners of A/B tests whose wait is over (backing up each test's one-off schedule).
    ("wagtail_newsletter: pick A/B test winners", "wagtail_newsletter.growth.ab_winner.pick_due_winners", 1),
    # Tops the credits balance up to the free monthly level once a month (a no-op with credits off).
    ("wagtail_newsletter: monthly free credits", "wagtail_newsletter.send.credits.monthly_top_up", 60),
    ("wagtail_newsletter: prune quota windows", "wagtail_newsletter.send.quotas.prune", 1440),
    # Moves the people of active automations on through their due steps, and polls the triggers without a signal
    # (anniversaries, segments entered, links clicked).
    ("wagtail_newsletter: automations", "wagtail_newsletter.growth.automations.tick.tick_task", 1),
    # Folds new tracking events into the report statistics (report pages also fold a little before showing).
    ("wagtail_newsletter: aggregate tracking events", "wagtail_newsletter.track.aggregate.scheduled_aggregate", 1),
    # Deletes folded tracking events older than EVENT_RETENTION_DAYS (a no-op when it is None, the default).
    ("wagtail_newsletter: prune old tracking events", "wagtail_newsletter.track.retention.prune_events", 1440),
    # Makes the issues of the page digests that are due (idempotent: one issue per digest and period).
    ("wagtail_newsletter: page digests", "wagtail_newsletter.growth.digest_runs.tick", 1),
    # Fans new events out to the webhook endpoints' outboxes and starts delivery tasks where messages are due.
    ("wagtail_newsletter: webhooks", "wagtail_newsletter.api.webhooks.delivery.tick", 1),
    # Looks every sender domain's SPF, DKIM, DMARC and MX records up again: records that disappear are flagged.
    (
        "wagtail_newsletter: check sender domains in DNS",
        "wagtail_newsletter.deliverability.domain_checks.check_all_sender_domains",
        360,
    ),
    # Reads the bounce mailbox (a no-op when BOUNCE_MAILBOX is None); minutes from BOUNCE_POLL_SECONDS.
    ("wagtail_newsletter: poll the bounce mailbox", "wagtail_newsletter.deliverability.mailbox.scheduled_poll", None),
]


def _bounce_poll_minutes():
    from .conf import newsletter_settings

    return max(1, round(newsletter_settings.BOUNCE_POLL_SECONDS / 60))


def ensure_schedules():
    from django_q.models import Schedule

    # Schedules renamed or retargeted in an upgrade must not keep running the old function; the one-off starts of
    # scheduled campaigns (send.dispatch.schedule_start) are not ours to remove.
    Schedule.objects.filter(name__startswith="wagtail_newsletter:").exclude(name__in=[s[0] for s in SCHEDULES]).exclude(
        name__startswith=CAMPAIGN_START_PREFIX
    ).exclude(name__startswith=WINNER_SCHEDULE_PREFIX).delete()
    for name, func, minutes in SCHEDULES:
        minutes = minutes or _bounce_poll_minutes()
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes, "repeats": -1},
        )


@receiver(post_migrate)
def _create_schedules(sender, app_config=None, **kwargs):
    if app_config is not None and app_config.label == "wagtail_newsletter":
        from django.apps import apps

        if apps.is_installed("django_q"):
            ensure_schedules()
