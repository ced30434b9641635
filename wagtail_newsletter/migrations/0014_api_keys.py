# The REST API's keys (stored hashed) and the stored answers of idempotent writes (api/rest/models.py).
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("wagtail_newsletter", "0013_digests")]

    operations = [
        migrations.CreateModel(
            name="ApiKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "name",
                    models.CharField(
                        help_text="Who or what uses this key, e.g. 'CRM sync'.", max_length=100, verbose_name="name"
                    ),
                ),
                ("prefix", models.CharField(editable=False, max_length=16, unique=True, verbose_name="prefix")),
                ("secret_hash", models.CharField(editable=False, max_length=64)),
                ("scopes", models.CharField(default="read", max_length=40, verbose_name="scopes")),
                (
                    "expires_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="Empty: the key never expires (delete it to revoke it).",
                        null=True,
                        verbose_name="expires",
                    ),
                ),
                ("last_used_at", models.DateTimeField(blank=True, editable=False, null=True, verbose_name="last used")),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name="created"),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="acts as",
                    ),
                ),
            ],
            options={
                "verbose_name": "API key",
                "verbose_name_plural": "API keys",
                "ordering": ["name", "pk"],
            },
        ),
        migrations.CreateModel(
            name="IdempotentResponse",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=255)),
                ("fingerprint", models.CharField(max_length=64)),
                ("status_code", models.PositiveSmallIntegerField()),
                ("content_type", models.CharField(max_length=100)),
                ("body", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                (
                    "api_key",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="wagtail_newsletter.apikey"
                    ),
                ),
            ],
            options={
                "verbose_name": "idempotent response",
                "verbose_name_plural": "idempotent responses",
                "constraints": [
                    models.UniqueConstraint(fields=("api_key", "key"), name="wagtail_newsletter_idempotency_unique")
                ],
            },
        ),
    ]
