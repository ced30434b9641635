"""``manage.py setup_demo``: the example site's demo content, created or brought up to date.

Idempotent: running it again updates the same rows instead of adding new ones.
"""

import datetime

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone, translation
from wagtail.models import Page, Site

from home.models import HomePage
from wagtail_newsletter.audience.services import add_to_group, record_status_events
from wagtail_newsletter.models import Field, Group, Source, Status, Subscriber, SubscriptionForm, SubscriptionFormField

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"
FORM_NAME = "Home page form"

GROUPS = [
    ("Weekly news", "Our weekly digest of what happened."),
    ("Product updates", "Release notes and new features."),
    ("Events", "Invitations to meetups and webinars."),
]
FIELDS = [
    # (key, label, type)
    ("city", "City", Field.Type.TEXT),
    ("birthday", "Birthday", Field.Type.DATE),
    ("member", "Member", Field.Type.BOOLEAN),
]
SUBSCRIBERS = [
    # (email, first name, last name, status, groups, custom data)
    ("ada@example.com", "Ada", "Lovelace", Status.SUBSCRIBED, ["Weekly news", "Events"], {"city": "London"}),
    ("grace@example.com", "Grace", "Hopper", Status.SUBSCRIBED, ["Product updates"], {"member": True}),
    ("alan@example.com", "Alan", "Turing", Status.PENDING, ["Weekly news"], {"birthday": "1912-06-23"}),
    ("edsger@example.com", "Edsger", "Dijkstra", Status.UNSUBSCRIBED, ["Weekly news"], {"city": "Nuenen"}),
    ("barbara@example.com", "Barbara", "Liskov", Status.BOUNCED, ["Events"], {}),
]

HOME_INTRO = (
    "<p>This is the example site of <b>wagtail-newsletter-platform</b>. The form below is a "
    "<i>subscription form</i> snippet placed on this page with the newsletter form block.</p>"
    "<p>Subscribe with any address: the confirmation email is caught by the local SMTP catcher and shown "
    'in the <a href="/admin/outbox/">Outbox</a> of the admin.</p>'
)
SUCCESS_TEXT = (
    "<p><b>Almost done!</b> Check your inbox: we sent you an email with a link to confirm your subscription. "
    "The link works for seven days.</p>"
)
EMAIL_BODY = (
    "<p>Hello {{ first_name }},</p>"
    "<p>Thanks for signing up for the Weekly news of the example site. Please confirm that "
    "{{ email }} is your address by clicking the button below.</p>"
    "<p>If you did not ask for this, ignore this email: you will not be added.</p>"
)
CONFIRMED_TEXT = "<p><b>You are subscribed. Welcome!</b> The next Weekly news will be in your inbox.</p>"


class Command(BaseCommand):
    help = "Create or update the example site's demo content and an admin user (admin / admin)."

    def handle(self, *args, **options):
        # Wagtail clears its site cache on save: the database cache table must exist (no-op if it does).
        call_command("createcachetable", verbosity=0)
        # The demo content is English whatever language happens to be active (model defaults are lazy texts).
        with transaction.atomic(), translation.override("en"):
            form, home, groups = self.populate()
        self.stdout.write(self.style.SUCCESS("Demo content is ready."))
        self.stdout.write(f"  Home page:   {home.title!r} carrying the form {form.name!r}")
        self.stdout.write(f"  Groups:      {', '.join(groups)}")
        self.stdout.write(f"  Admin login: {ADMIN_USERNAME} / {ADMIN_PASSWORD}")

    def populate(self):
        groups = self.ensure_groups()
        fields = self.ensure_fields()
        form = self.ensure_form(groups, fields)
        home = self.ensure_home_page(form)
        self.ensure_subscribers(groups)
        self.ensure_admin_user()
        return form, home, groups

    def ensure_groups(self):
        groups = {}
        for name, description in GROUPS:
            groups[name], _ = Group.objects.update_or_create(name=name, defaults={"description": description})
        return groups

    def ensure_fields(self):
        fields = {}
        for order, (key, label, field_type) in enumerate(FIELDS):
            fields[key], _ = Field.objects.update_or_create(
                key=key, defaults={"label": label, "type": field_type, "sort_order": order}
            )
        return fields

    def ensure_form(self, groups, fields):
        form = SubscriptionForm.objects.filter(name=FORM_NAME).first() or SubscriptionForm(name=FORM_NAME)
        form.title = "Get the Weekly news"
        form.introduction = "<p>One email a week, no spam. Unsubscribe with one click at any time.</p>"
        form.button_label = "Subscribe"
        form.notify_email = "manager@example.com"
        form.success_text = SUCCESS_TEXT
        form.email_subject = "Please confirm your subscription to the Weekly news"
        form.email_from = "Example newsletter <news@example.org>"
        form.email_body = EMAIL_BODY
        form.email_button_label = "Yes, subscribe me"
        form.confirmed_text = CONFIRMED_TEXT
        form.form_fields = [
            SubscriptionFormField(builtin=SubscriptionFormField.Builtin.FIRST_NAME, required=False),
            SubscriptionFormField(custom_field=fields["city"], required=False),
        ]
        form.groups = [groups["Weekly news"]]
        form.save()
        return form

    def ensure_home_page(self, form):
        body = [
            {"type": "paragraph", "value": HOME_INTRO},
            {"type": "newsletter_form", "value": {"form": form.pk}},
        ]
        site = Site.objects.filter(is_default_site=True).first()
        home = HomePage.objects.first()
        if home is None:
            root = Page.get_first_root_node()
            home = root.add_child(instance=HomePage(title="Welcome", slug="newsletter-demo-home", body=body))
        else:
            home.body = body
        home.title = "Stay in the loop"
        home.save_revision().publish()
        if site is None:
            site = Site(hostname="localhost", port=80, is_default_site=True)
        old_root = site.root_page.specific if site.root_page_id else None
        site.root_page = home
        site.site_name = "Example newsletter site"
        site.save()
        if old_root is not None and not isinstance(old_root, HomePage) and old_root.depth == 2:
            # Wagtail's "Welcome to your new Wagtail site!" page: replaced by ours.
            old_root.delete()
        if home.slug != "home" and not Page.objects.filter(depth=2, slug="home").exclude(pk=home.pk).exists():
            home.slug = "home"
            home.save_revision().publish()
        return home

    def ensure_subscribers(self, groups):
        now = timezone.now()
        for index, (email, first_name, last_name, status, group_names, data) in enumerate(SUBSCRIBERS):
            if Subscriber.all_objects.filter(email=email).exists():
                continue
            created_at = now - datetime.timedelta(days=40 - index * 7)
            subscriber = Subscriber.all_objects.create(
                email=email,
                first_name=first_name,
                last_name=last_name,
                status=status,
                source=Source.ADMIN,
                data=data,
                created_at=created_at,
                updated_at=created_at,
                status_changed_at=created_at,
                first_subscribed_at=None if status == Status.PENDING else created_at,
            )
            record_status_events([(subscriber.pk, "", status)], Source.ADMIN, note="demo data", when=created_at)
            for name in group_names:
                add_to_group([subscriber.pk], groups[name])

    def ensure_admin_user(self):
        user, _ = get_user_model().objects.get_or_create(
            username=ADMIN_USERNAME, defaults={"email": "admin@example.com"}
        )
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(ADMIN_PASSWORD)
        user.save()
        return user
