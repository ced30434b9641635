# Automations (growth/automations): automations, their steps, enrolments, step campaigns, segment snapshots.

import django.db.models.deletion
import django.utils.timezone
import modelcluster.fields
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("wagtail_newsletter", "0011_ab_tests")]

    operations = [
        migrations.CreateModel(
            name="Automation",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=150, unique=True, verbose_name="name")),
                (
                    "active",
                    models.BooleanField(
                        default=False,
                        help_text="Only active automations let people in and move them on.",
                        verbose_name="active",
                    ),
                ),
                (
                    "trigger",
                    models.CharField(
                        choices=[
                            ("confirmed", "Subscription confirmed"),
                            ("joined_group", "Joined a group"),
                            ("clicked_link", "Clicked a link"),
                            ("anniversary", "Anniversary of a date field"),
                            ("segment_entered", "Entered a segment"),
                            ("api", "Started by code or the API"),
                        ],
                        default="confirmed",
                        max_length=20,
                        verbose_name="starts when",
                    ),
                ),
                (
                    "link_text",
                    models.CharField(
                        blank=True,
                        help_text="Clicked a link: a person's click (not a scanner's) on an address containing this.",
                        max_length=255,
                        verbose_name="link address contains",
                    ),
                ),
                (
                    "local_hour",
                    models.PositiveSmallIntegerField(
                        default=9,
                        help_text="Anniversary: the hour of the day, in the site's time zone (0-23).",
                        verbose_name="at hour",
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created")),
                ("status_note", models.TextField(blank=True, editable=False, verbose_name="note")),
                ("anniversaries_done_on", models.DateField(blank=True, editable=False, null=True)),
                ("clicks_read_until", models.BigIntegerField(blank=True, editable=False, null=True)),
                ("segment_checked_at", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "date_field",
                    models.ForeignKey(
                        blank=True,
                        help_text="Anniversary: every year on this date (a birthday, say).",
                        limit_choices_to={"type": "date"},
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="wagtail_newsletter.field",
                        verbose_name="date field",
                    ),
                ),
                (
                    "form",
                    models.ForeignKey(
                        blank=True,
                        help_text="Subscription confirmed: through this form (or leave empty and choose a group).",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="wagtail_newsletter.subscriptionform",
                        verbose_name="subscription form",
                    ),
                ),
                (
                    "group",
                    models.ForeignKey(
                        blank=True,
                        help_text="Joined a group: this group. Subscription confirmed: into this group.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="wagtail_newsletter.group",
                        verbose_name="group",
                    ),
                ),
                (
                    "segment",
                    models.ForeignKey(
                        blank=True,
                        help_text="Entered a segment: people who were not in it and now are (checked every 5 minutes).",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="wagtail_newsletter.segment",
                        verbose_name="segment",
                    ),
                ),
            ],
            options={
                "verbose_name": "automation",
                "verbose_name_plural": "automations",
                "ordering": ["name"],
            },
        ),
        migrations.CreateModel(
            name="AutomationStep",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sort_order", models.IntegerField(blank=True, editable=False, null=True)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("wait", "Wait"),
                            ("wait_until", "Wait until a weekday and hour"),
                            ("send", "Send a newsletter"),
                            ("add_to_group", "Add to a group"),
                            ("remove_from_group", "Remove from a group"),
                            ("branch", "Go on only if…"),
                            ("stop", "Stop"),
                        ],
                        default="wait",
                        max_length=20,
                        verbose_name="step",
                    ),
                ),
                (
                    "wait_amount",
                    models.PositiveIntegerField(
                        default=1, help_text="Wait: how many hours or days.", verbose_name="wait"
                    ),
                ),
                (
                    "wait_unit",
                    models.CharField(
                        choices=[("hours", "hours"), ("days", "days")],
                        default="days",
                        max_length=5,
                        verbose_name="unit",
                    ),
                ),
                (
                    "weekday",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        choices=[
                            (0, "Monday"),
                            (1, "Tuesday"),
                            (2, "Wednesday"),
                            (3, "Thursday"),
                            (4, "Friday"),
                            (5, "Saturday"),
                            (6, "Sunday"),
                        ],
                        null=True,
                        verbose_name="weekday",
                    ),
                ),
                (
                    "hour",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        help_text="Wait until: the hour (0-23) in the site's time zone.",
                        null=True,
                        verbose_name="hour",
                    ),
                ),
                (
                    "condition",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("opened_previous", "they opened the previous step's mail"),
                            ("not_opened_previous", "they did not open the previous step's mail"),
                            ("in_segment", "they are in the segment"),
                            ("not_in_segment", "they are not in the segment"),
                        ],
                        max_length=20,
                        verbose_name="condition",
                    ),
                ),
                (
                    "otherwise_go_to",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        help_text="Go on only if: the step number (1 is the first) for the others; empty: they leave.",
                        null=True,
                        verbose_name="otherwise go to step",
                    ),
                ),
                ("passed_count", models.PositiveIntegerField(default=0, editable=False)),
                (
                    "automation",
                    modelcluster.fields.ParentalKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="steps",
                        to="wagtail_newsletter.automation",
                    ),
                ),
                (
                    "group",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="wagtail_newsletter.group",
                        verbose_name="group",
                    ),
                ),
                (
                    "page",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.WAGTAIL_PAGE_MODEL,
                        verbose_name="newsletter",
                    ),
                ),
                (
                    "segment",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="wagtail_newsletter.segment",
                        verbose_name="segment",
                    ),
                ),
            ],
            options={
                "verbose_name": "step",
                "verbose_name_plural": "steps",
                "ordering": ["sort_order"],
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="Enrolment",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("occurrence", models.CharField(max_length=64)),
                ("round", models.PositiveIntegerField(default=1)),
                (
                    "status",
                    models.PositiveSmallIntegerField(
                        choices=[(0, "In progress"), (1, "Finished"), (2, "Left")], default=0
                    ),
                ),
                ("position", models.PositiveSmallIntegerField(default=0)),
                ("due_at", models.DateTimeField()),
                ("entered_at", models.DateTimeField()),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("left_reason", models.CharField(blank=True, max_length=20)),
                (
                    "automation",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="enrolments",
                        to="wagtail_newsletter.automation",
                    ),
                ),
                (
                    "last_campaign",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="wagtail_newsletter.campaign",
                    ),
                ),
                (
                    "subscriber",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="wagtail_newsletter.subscriber",
                    ),
                ),
            ],
            options={
                "verbose_name": "enrolment",
                "verbose_name_plural": "enrolments",
                "indexes": [
                    models.Index(
                        condition=models.Q(("status", 0)),
                        fields=["automation", "position", "due_at"],
                        name="wn_enrolment_due",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("automation", "subscriber", "occurrence"), name="wagtail_newsletter_enrolment_unique"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="SegmentMember",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("subscriber_id", models.BigIntegerField()),
                (
                    "automation",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="wagtail_newsletter.automation",
                    ),
                ),
            ],
            options={
                "verbose_name": "segment member",
                "verbose_name_plural": "segment members",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("automation", "subscriber_id"), name="wagtail_newsletter_segmentmember_unique"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="StepCampaign",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("round", models.PositiveIntegerField()),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="wagtail_newsletter.campaign"
                    ),
                ),
                (
                    "step",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="campaigns",
                        to="wagtail_newsletter.automationstep",
                    ),
                ),
            ],
            options={
                "verbose_name": "step campaign",
                "verbose_name_plural": "step campaigns",
                "constraints": [
                    models.UniqueConstraint(fields=("step", "round"), name="wagtail_newsletter_stepcampaign_unique")
                ],
            },
        ),
    ]
