# Page digests (growth/digests.py): the digest definition, its parent pages and one row per period.
import django.db.models.deletion
import django.utils.timezone
import modelcluster.fields
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("wagtail_newsletter", "0012_automations")]

    operations = [
        migrations.CreateModel(
            name='Digest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=150, unique=True, verbose_name='name')),
                ('active', models.BooleanField(default=True, help_text='An inactive digest makes no issue.', verbose_name='active')),
                ('frequency', models.CharField(choices=[('daily', 'Every day'), ('weekly', 'Every week'), ('monthly', 'Every month')], default='weekly', max_length=10, verbose_name='how often')),
                ('weekday', models.PositiveSmallIntegerField(choices=[(0, 'Monday'), (1, 'Tuesday'), (2, 'Wednesday'), (3, 'Thursday'), (4, 'Friday'), (5, 'Saturday'), (6, 'Sunday')], default=0, help_text='For a weekly digest.', verbose_name='day of the week')),
                ('day_of_month', models.PositiveSmallIntegerField(default=1, help_text='For a monthly digest: 1 to 28.', verbose_name='day of the month')),
                ('hour', models.PositiveSmallIntegerField(default=8, help_text="0 to 23, in the site's time zone.", verbose_name='hour')),
                ('minute', models.PositiveSmallIntegerField(default=0, help_text='0 to 59.', verbose_name='minute')),
                ('review', models.BooleanField(default=True, help_text='Leave each issue as a draft for an editor to check and send. Unticked: each issue is sent at once.', verbose_name='review before sending')),
                ('all_subscribers', models.BooleanField(default=False, verbose_name='all subscribers')),
                ('published_since', models.DateTimeField(default=django.utils.timezone.now, help_text='The next issue gathers the pages first published from this moment. Moved on by each issue.', verbose_name='pages published since')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created')),
                ('archive', models.ForeignKey(help_text='Each issue is made as a newsletter page below this archive.', on_delete=django.db.models.deletion.PROTECT, related_name='+', to='wagtail_newsletter.newsletterindexpage', verbose_name='newsletter archive')),
                ('exclude_groups', modelcluster.fields.ParentalManyToManyField(blank=True, related_name='+', to='wagtail_newsletter.group', verbose_name='except groups')),
                ('exclude_segments', modelcluster.fields.ParentalManyToManyField(blank=True, related_name='+', to='wagtail_newsletter.segment', verbose_name='except segments')),
                ('include_groups', modelcluster.fields.ParentalManyToManyField(blank=True, related_name='+', to='wagtail_newsletter.group', verbose_name='send to groups')),
                ('include_segments', modelcluster.fields.ParentalManyToManyField(blank=True, related_name='+', to='wagtail_newsletter.segment', verbose_name='send to segments')),
                ('page_types', modelcluster.fields.ParentalManyToManyField(blank=True, help_text='Only pages of these types. None chosen: pages of any type below the parent pages.', related_name='+', to='contenttypes.contenttype', verbose_name='page types')),
                ('template', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='wagtail_newsletter.newslettertemplate', verbose_name='newsletter template')),
            ],
            options={
                'verbose_name': 'page digest',
                'verbose_name_plural': 'page digests',
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='DigestParentPage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sort_order', models.IntegerField(blank=True, editable=False, null=True)),
                ('digest', modelcluster.fields.ParentalKey(on_delete=django.db.models.deletion.CASCADE, related_name='parent_pages', to='wagtail_newsletter.digest')),
                ('page', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.WAGTAIL_PAGE_MODEL, verbose_name='page')),
            ],
            options={
                'verbose_name': 'parent page',
                'verbose_name_plural': 'parent pages',
                'ordering': ['sort_order'],
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='DigestRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('period_start', models.DateTimeField(verbose_name='from')),
                ('period_end', models.DateTimeField(verbose_name='until')),
                ('outcome', models.CharField(choices=[('skipped', 'Skipped: nothing new'), ('review', 'Waiting for review'), ('sent', 'Sent'), ('failed', 'Not sent')], max_length=10, verbose_name='outcome')),
                ('page_count', models.PositiveIntegerField(default=0, verbose_name='pages found')),
                ('page_ids', models.JSONField(blank=True, default=list, editable=False)),
                ('note', models.TextField(blank=True, verbose_name='note')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='made')),
                ('campaign', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='wagtail_newsletter.campaign', verbose_name='campaign')),
                ('digest', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='runs', to='wagtail_newsletter.digest', verbose_name='digest')),
                ('newsletter', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.WAGTAIL_PAGE_MODEL, verbose_name='newsletter')),
            ],
            options={
                'verbose_name': 'digest issue',
                'verbose_name_plural': 'digest issues',
                'ordering': ['-period_end', '-id'],
                'constraints': [models.UniqueConstraint(fields=('digest', 'period_start'), name='wagtail_newsletter_digestrun_period')],
            },
        ),
    ]
