# Placeholder kept in the chain so parallel work can fill its own file; operations are added by its feature.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("wagtail_newsletter", "0015_webhooks")]

    operations = []
