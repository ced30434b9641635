# Gapless DKIM key rotation: the next key beside the current one, and the selector it replaced.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("wagtail_newsletter", "0015_webhooks")]

    operations = [
        migrations.AddField(
            model_name='senderdomain',
            name='next_private_key',
            field=models.TextField(blank=True, editable=False, verbose_name='next DKIM private key'),
        ),
        migrations.AddField(
            model_name='senderdomain',
            name='next_selector',
            field=models.CharField(blank=True, editable=False, max_length=63, verbose_name='next DKIM selector'),
        ),
        migrations.AddField(
            model_name='senderdomain',
            name='previous_selector',
            field=models.CharField(blank=True, editable=False, max_length=63, verbose_name='previous DKIM selector'),
        ),
        migrations.AddField(
            model_name='senderdomain',
            name='rotated_at',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='key last rotated'),
        ),
        migrations.AddField(
            model_name='senderdomain',
            name='rotation_started_at',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='key rotation started'),
        ),
    ]
