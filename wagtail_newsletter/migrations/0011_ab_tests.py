# A/B tests (growth/ab_tests.py): the tests, their variants (one campaign each) and the samples, unique per test and
# subscriber so that nobody ever gets two variants.
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("wagtail_newsletter", "0010_audience_gaps")]

    operations = [
        migrations.CreateModel(
            name="AbTest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "metric",
                    models.CharField(
                        choices=[
                            ("opens", "Unique opens by people"),
                            ("clicks", "Unique clicks by people"),
                            ("manual", "I choose the winner myself"),
                        ],
                        default="opens",
                        max_length=10,
                        verbose_name="winner chosen by",
                    ),
                ),
                (
                    "wait_minutes",
                    models.PositiveIntegerField(default=240, verbose_name="wait before choosing (minutes)"),
                ),
                (
                    "send_winner",
                    models.BooleanField(default=True, verbose_name="send the winner to the rest automatically"),
                ),
                ("seed", models.CharField(editable=False, max_length=32)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("draft", "Draft"),
                            ("testing", "Testing the variants"),
                            ("waiting", "Waiting for the editor to choose"),
                            ("done", "Winner sent to the rest"),
                            ("cancelled", "Cancelled"),
                        ],
                        default="draft",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("started_at", models.DateTimeField(blank=True, null=True, verbose_name="started")),
                ("decide_at", models.DateTimeField(blank=True, null=True, verbose_name="winner chosen at")),
                ("decided_at", models.DateTimeField(blank=True, null=True, verbose_name="winner chosen")),
                ("note", models.TextField(blank=True, verbose_name="note")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created")),
                (
                    "campaign",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="ab_test",
                        to="wagtail_newsletter.campaign",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "A/B test",
                "verbose_name_plural": "A/B tests",
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="AbVariant",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("letter", models.CharField(max_length=1, verbose_name="variant")),
                ("sample_percent", models.PositiveSmallIntegerField(verbose_name="sample (% of the audience)")),
                ("sample_size", models.PositiveIntegerField(default=0, verbose_name="sample size")),
                ("subject", models.CharField(blank=True, max_length=200, verbose_name="subject")),
                ("preheader", models.CharField(blank=True, max_length=200, verbose_name="preheader")),
                ("sender_name", models.CharField(blank=True, max_length=100, verbose_name="sender name")),
                (
                    "ab_test",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="variants",
                        to="wagtail_newsletter.abtest",
                    ),
                ),
                (
                    "campaign",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="ab_variant",
                        to="wagtail_newsletter.campaign",
                    ),
                ),
            ],
            options={
                "verbose_name": "A/B test variant",
                "verbose_name_plural": "A/B test variants",
                "ordering": ["ab_test", "letter"],
            },
        ),
        migrations.AddField(
            model_name="abtest",
            name="winner",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="wagtail_newsletter.abvariant",
                verbose_name="winner",
            ),
        ),
        migrations.CreateModel(
            name="AbSample",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                (
                    "subscriber",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="wagtail_newsletter.subscriber",
                    ),
                ),
                (
                    "ab_test",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="wagtail_newsletter.abtest",
                    ),
                ),
                (
                    "variant",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="samples",
                        to="wagtail_newsletter.abvariant",
                    ),
                ),
            ],
            options={
                "verbose_name": "A/B test sample",
                "verbose_name_plural": "A/B test samples",
            },
        ),
        migrations.AddConstraint(
            model_name="abvariant",
            constraint=models.UniqueConstraint(
                fields=("ab_test", "letter"), name="wagtail_newsletter_abvariant_letter"
            ),
        ),
        migrations.AddIndex(
            model_name="absample",
            index=models.Index(fields=["variant", "subscriber"], name="wn_absample_variant"),
        ),
        migrations.AddConstraint(
            model_name="absample",
            constraint=models.UniqueConstraint(
                fields=("ab_test", "subscriber"), name="wagtail_newsletter_absample_once"
            ),
        ),
    ]
