# Outbound webhooks (api/webhooks/): endpoints, their outbox and the read positions in the logs it is filled from.
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("wagtail_newsletter", "0014_api_keys")]

    operations = [
        migrations.CreateModel(
            name="WebhookCursor",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=40, unique=True)),
                ("last_id", models.BigIntegerField(default=0)),
                ("gaps", models.JSONField(default=list)),
            ],
            options={
                "verbose_name": "webhook cursor",
                "verbose_name_plural": "webhook cursors",
            },
        ),
        migrations.CreateModel(
            name="WebhookEndpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "name",
                    models.CharField(
                        help_text="What receives these events, for people.", max_length=100, verbose_name="name"
                    ),
                ),
                (
                    "url",
                    models.URLField(
                        help_text="An http(s) URL that answers POST requests.", max_length=500, verbose_name="URL"
                    ),
                ),
                ("events", models.JSONField(blank=True, default=list, verbose_name="events")),
                ("secret", models.CharField(editable=False, max_length=100, verbose_name="signing secret")),
                ("previous_secret", models.CharField(blank=True, editable=False, max_length=100)),
                ("previous_secret_until", models.DateTimeField(blank=True, editable=False, null=True)),
                ("enabled", models.BooleanField(default=True, verbose_name="enabled")),
                ("disabled_at", models.DateTimeField(blank=True, editable=False, null=True, verbose_name="disabled")),
                (
                    "disabled_reason",
                    models.CharField(blank=True, editable=False, max_length=255, verbose_name="why disabled"),
                ),
                (
                    "failing_since",
                    models.DateTimeField(blank=True, editable=False, null=True, verbose_name="failing since"),
                ),
                ("failures_in_row", models.PositiveIntegerField(default=0, editable=False)),
                (
                    "last_success_at",
                    models.DateTimeField(blank=True, editable=False, null=True, verbose_name="last success"),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name="created"),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="registered by",
                    ),
                ),
            ],
            options={
                "verbose_name": "webhook endpoint",
                "verbose_name_plural": "webhook endpoints",
                "ordering": ["name", "id"],
            },
        ),
        migrations.CreateModel(
            name="WebhookMessage",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                (
                    "event_type",
                    models.CharField(
                        choices=[
                            ("subscriber.subscribed", "Subscribed (signed up, or added)"),
                            ("subscriber.confirmed", "Confirmed (double opt-in)"),
                            ("subscriber.unsubscribed", "Unsubscribed"),
                            ("subscriber.bounced", "Bounced"),
                            ("subscriber.complained", "Complained (marked as spam)"),
                            ("message.opened", "Opened a newsletter"),
                            ("message.clicked", "Clicked a link"),
                            ("campaign.started", "Campaign started"),
                            ("campaign.paused", "Campaign paused"),
                            ("campaign.finished", "Campaign finished (sent, cancelled or failed)"),
                        ],
                        max_length=24,
                        verbose_name="event",
                    ),
                ),
                ("source", models.BigIntegerField(blank=True, null=True)),
                ("order_key", models.BigIntegerField(blank=True, null=True)),
                ("subscriber_id", models.BigIntegerField(blank=True, null=True)),
                ("campaign_id", models.BigIntegerField(blank=True, null=True)),
                ("occurred_at", models.DateTimeField(verbose_name="occurred")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("expires_at", models.DateTimeField()),
                (
                    "status",
                    models.PositiveSmallIntegerField(
                        choices=[(0, "Pending"), (1, "Being sent"), (2, "Delivered"), (3, "Given up")],
                        default=0,
                        verbose_name="status",
                    ),
                ),
                ("attempts", models.PositiveSmallIntegerField(default=0, verbose_name="attempts")),
                ("next_attempt_at", models.DateTimeField(blank=True, null=True, verbose_name="next attempt")),
                ("claim", models.BigIntegerField(blank=True, null=True)),
                ("lease_expires_at", models.DateTimeField(blank=True, null=True)),
                ("delivered_at", models.DateTimeField(blank=True, null=True, verbose_name="delivered")),
                (
                    "response_status",
                    models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="HTTP status"),
                ),
                ("response_body", models.CharField(blank=True, max_length=1000, verbose_name="response")),
                ("error", models.CharField(blank=True, max_length=500, verbose_name="error")),
                ("body", models.TextField(blank=True, verbose_name="body")),
                (
                    "endpoint",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="wagtail_newsletter.webhookendpoint",
                    ),
                ),
            ],
            options={
                "verbose_name": "webhook message",
                "verbose_name_plural": "webhook messages",
                "indexes": [
                    models.Index(fields=["endpoint", "status", "id"], name="wn_webhook_work"),
                    models.Index(
                        condition=models.Q(("status__in", [0, 1])),
                        fields=["endpoint", "order_key", "id"],
                        name="wn_webhook_order",
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("endpoint", "event_type", "source"), name="wagtail_newsletter_webhook_message_unique"
                    )
                ],
            },
        ),
    ]
