"""``manage.py setup_demo``: the example site's demo content, created or brought up to date.

Idempotent: running it again updates the same rows instead of adding new ones.
"""

import copy
import datetime
from io import BytesIO
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.files.images import ImageFile
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone, translation
from outbox.webhooks import DEMO_ENDPOINT_NAME, RECEIVER_PATH
from PIL import Image as PILImage
from PIL import ImageDraw
from wagtail.images import get_image_model
from wagtail.models import Locale, Page, Site

from home.demo_automations import ensure_demo_automations
from home.models import ArticlePage, HomePage
from wagtail_newsletter.api.webhooks.endpoints import create_endpoint
from wagtail_newsletter.api.webhooks.models import EventType, WebhookEndpoint
from wagtail_newsletter.audience.services import add_to_group, record_status_events
from wagtail_newsletter.compose.models import NewsletterIndexPage, NewsletterPage, NewsletterTemplate
from wagtail_newsletter.conf import newsletter_settings
from wagtail_newsletter.growth.digests import Digest, DigestParentPage
from wagtail_newsletter.models import Field, Group, Source, Status, Subscriber, SubscriptionForm, SubscriptionFormField
from wagtail_newsletter.send.dkim_signing import generate_private_key
from wagtail_newsletter.send.models import SenderDomain

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"
FORM_NAME = "Home page form"

GROUPS = [
    # (name, description, public: a topic subscribers choose themselves on their preference page)
    ("Weekly news", "Our weekly digest of what happened.", True),
    ("Product updates", "Release notes and new features.", True),
    ("Events", "Invitations to meetups and webinars.", True),
]
FIELDS = [
    # (key, label, type, editable by the subscriber on their preference page)
    ("city", "City", Field.Type.TEXT, True),
    ("birthday", "Birthday", Field.Type.DATE, True),
    ("member", "Member", Field.Type.BOOLEAN, False),
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

ARCHIVE_TITLE = "Newsletter archive"
ARCHIVE_SLUG = "newsletters"
NEWSLETTER_TITLE = "Welcome issue"
NEWSLETTER_SLUG = "welcome-issue"
TEMPLATE_NAME = "Monthly digest"
IMAGE_TITLE = "Demo newsletter banner"
GREETING = '{{ first_name|default:"there" }}'
POSTAL_ADDRESS = "Example newsletter site\n12 Harbour Street\n75001 Paris, France"
SENDER_EMAIL = "news@example.org"


class Command(BaseCommand):
    help = "Create or update the example site's demo content and an admin user (admin / admin)."

    def handle(self, *args, **options):
        # Wagtail clears its site cache on save: the database cache table must exist (no-op if it does).
        call_command("createcachetable", verbosity=0)
        # The demo content is English whatever language happens to be active (model defaults are lazy texts).
        with transaction.atomic(), translation.override("en"):
            form, home, groups, archive, newsletter, template, sender_domain = self.populate()
        self.stdout.write(self.style.SUCCESS("Demo content is ready."))
        self.stdout.write(f"  Home page:   {home.title!r} carrying the form {form.name!r}")
        self.stdout.write(f"  Groups:      {', '.join(groups)}")
        self.stdout.write(f"  Archive:     {archive.title!r} at {archive.url}")
        self.stdout.write(f"  Newsletter:  {newsletter.title!r} at {newsletter.url} (theme {newsletter.theme!r})")
        self.stdout.write(f"  Template:    {template.name!r} (Newsletter templates; “New newsletter from template”)")
        self.stdout.write(f"  DKIM key:    {sender_domain.domain}, selector {sender_domain.selector!r}")
        self.stdout.write("  Webhooks:    the site receives its own (Outbox › Webhooks received)")
        self.stdout.write(f"  Admin login: {ADMIN_USERNAME} / {ADMIN_PASSWORD} (a superuser: may send campaigns)")

    def populate(self):
        groups = self.ensure_groups()
        fields = self.ensure_fields()
        form = self.ensure_form(groups, fields)
        home = self.ensure_home_page(form)
        self.ensure_subscribers(groups)
        self.ensure_admin_user()
        archive = self.ensure_archive(home)
        newsletter = self.ensure_newsletter(archive, home, self.ensure_banner_image())
        self.ensure_french_issue(newsletter, groups)
        template = self.ensure_template(newsletter)
        ensure_demo_automations(archive, form, fields["birthday"], SENDER_EMAIL)  # welcome series, birthday
        self.ensure_weekly_digest(home, archive, newsletter, groups, self.ensure_banner_image())
        self.ensure_demo_webhook()
        return form, home, groups, archive, newsletter, template, self.ensure_sender_domain()

    def ensure_groups(self):
        groups = {}
        for name, description, public in GROUPS:
            groups[name], _ = Group.objects.update_or_create(
                name=name, defaults={"description": description, "public": public}
            )
        return groups

    def ensure_fields(self):
        fields = {}
        for order, (key, label, field_type, editable) in enumerate(FIELDS):
            fields[key], _ = Field.objects.update_or_create(
                key=key,
                defaults={"label": label, "type": field_type, "sort_order": order, "editable_by_subscriber": editable},
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
        form.email_from = f"Example newsletter <{SENDER_EMAIL}>"
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
        # Page links in newsletters are built from the Site: make them point where the demo really runs.
        base = urlsplit(newsletter_settings.BASE_URL or "http://127.0.0.1:8000")
        site.hostname = base.hostname or "localhost"
        site.port = base.port or (443 if base.scheme == "https" else 80)
        site.save()
        if old_root is not None and not isinstance(old_root, HomePage) and old_root.depth == 2:
            # Wagtail's "Welcome to your new Wagtail site!" page: replaced by ours.
            old_root.delete()
        if home.slug != "home" and not Page.objects.filter(depth=2, slug="home").exclude(pk=home.pk).exists():
            home.slug = "home"
            home.save_revision().publish()
        home.refresh_from_db()  # publish() saved another instance: take its url_path before adding children
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

    def ensure_archive(self, home):
        archive = NewsletterIndexPage.objects.child_of(home).filter(slug=ARCHIVE_SLUG).first()
        if archive is None:
            archive = home.add_child(instance=NewsletterIndexPage(title=ARCHIVE_TITLE, slug=ARCHIVE_SLUG))
        archive.title = ARCHIVE_TITLE
        archive.introduction = "Every issue of our newsletter, newest first. Share the ones you like."
        archive.save_revision().publish()
        return archive

    def ensure_banner_image(self):
        """A Wagtail image of a banner drawn with Pillow (no file shipped with the example site)."""
        image_model = get_image_model()
        image = image_model.objects.filter(title=IMAGE_TITLE).first()
        if image is None:
            image = image_model(title=IMAGE_TITLE)
            image.file = ImageFile(BytesIO(banner_png()), name="demo-newsletter-banner.png")
            image.save()
        return image

    def ensure_newsletter(self, archive, home, image):
        newsletter = NewsletterPage.objects.child_of(archive).filter(slug=NEWSLETTER_SLUG).first()
        if newsletter is None:
            newsletter = NewsletterPage(title=NEWSLETTER_TITLE, slug=NEWSLETTER_SLUG, subject="Welcome")
            archive.add_child(instance=newsletter)
        newsletter.title = NEWSLETTER_TITLE
        newsletter.subject = f"Welcome to the Weekly news, {GREETING}!"
        newsletter.preheader = "What to expect from us, and a few things worth reading this week."
        newsletter.sender_name = "Example newsletter"
        newsletter.sender_email = SENDER_EMAIL
        newsletter.reply_to = SENDER_EMAIL
        newsletter.language = "en"
        newsletter.theme = "classic"
        newsletter.utm_campaign = "welcome-issue"
        newsletter.body = newsletter_body(home, image)
        newsletter.search_description = "The first issue: what the Weekly news is about."
        newsletter.save_revision().publish()
        return newsletter

    def ensure_french_issue(self, newsletter, groups):
        """The archive and the Welcome issue in French (core ``copy_for_translation``) and a French reader: a
        campaign of the English issue sends her the French one. Only with WAGTAIL_I18N_ENABLED."""
        if not getattr(settings, "WAGTAIL_I18N_ENABLED", False):
            return None
        locale, _ = Locale.objects.get_or_create(language_code="fr")
        archive = newsletter.get_parent().specific
        french_archive = archive.get_translation_or_none(locale)
        if french_archive is None:  # the archive translated (its own title), the home page copied as an alias
            french_archive = archive.copy_for_translation(locale, copy_parents=True)
        french_archive = french_archive.specific
        if french_archive.alias_of_id is None:
            french_archive.title = "Archives de la lettre"
            french_archive.introduction = "Tous les numéros de notre lettre, du plus récent au plus ancien."
            french_archive.save_revision().publish()
        french = newsletter.get_translation_or_none(locale)
        if french is None:
            french = newsletter.copy_for_translation(locale, copy_parents=True)
        french = french.specific
        french.title = "Numéro de bienvenue"
        french.subject = f"Bienvenue dans les nouvelles de la semaine, {GREETING_FR} !"
        french.preheader = "Ce que vous recevrez de nous, et quelques lectures de la semaine."
        french.language = "fr"
        french.body = french_body(newsletter.body.get_prep_value())
        french.search_description = "Le premier numéro : de quoi parlent les nouvelles de la semaine."
        french.save_revision().publish()
        email, first, last, data = FRENCH_READER
        if not Subscriber.all_objects.filter(email=email).exists():
            now = timezone.now()
            reader = Subscriber.all_objects.create(
                email=email, first_name=first, last_name=last, language="fr", status=Status.SUBSCRIBED,
                source=Source.ADMIN, data=data, first_subscribed_at=now,
            )  # fmt: skip
            record_status_events([(reader.pk, "", Status.SUBSCRIBED)], Source.ADMIN, note="demo data", when=now)
            add_to_group([reader.pk], groups["Weekly news"])
        return french

    def ensure_sender_domain(self):
        """The demo sender's domain with a DKIM key, so that campaigns and confirmations are signed (the key is
        kept when run again: a new one would need a new DNS record)."""
        domain, _ = SenderDomain.objects.get_or_create(domain=SENDER_EMAIL.rsplit("@", 1)[1])
        if not domain.private_key:
            domain.private_key = generate_private_key()
            domain.save(update_fields=["private_key"])
        return domain

    def ensure_demo_webhook(self):
        """A webhook endpoint pointing at the site's own receiver (outbox/webhooks.py), for subscribers' and
        campaigns' events; its URL follows the site's base URL when run again, its secret is kept."""
        url = (newsletter_settings.BASE_URL or "http://127.0.0.1:8000").rstrip("/") + RECEIVER_PATH
        endpoint = WebhookEndpoint.objects.filter(name=DEMO_ENDPOINT_NAME).first()
        if endpoint is None:
            events = [EventType.SUBSCRIBED, EventType.CONFIRMED, EventType.UNSUBSCRIBED, EventType.CAMPAIGN_STARTED,
                      EventType.CAMPAIGN_PAUSED, EventType.CAMPAIGN_FINISHED]  # fmt: skip
            return create_endpoint(url, events, name=DEMO_ENDPOINT_NAME)
        if endpoint.url != url:
            endpoint.url = url
            endpoint.save(update_fields=["url"])
        return endpoint

    def ensure_template(self, newsletter):
        values = NewsletterTemplate.values_from_page(newsletter)
        values["body"] = monthly_body(copy.deepcopy(values["body"].get_prep_value()))
        values["subject"] = f"This month at the example site, {GREETING}"
        values["preheader"] = "The month in a few minutes of reading."
        template, _ = NewsletterTemplate.objects.update_or_create(
            name=TEMPLATE_NAME,
            defaults={**values, "description": "Our monthly issue: a greeting, news, two columns and the footer."},
        )
        return template

    def ensure_weekly_digest(self, home, archive, newsletter, groups, image):
        """Two news articles below the home page and a page digest that mails a teaser of each new article to the
        Weekly news group every Monday at 8:00, after an editor's review (Newsletter › Page digests). Created once:
        a second run keeps the digest's watermark and past issues."""
        since = timezone.now() - datetime.timedelta(minutes=1)
        for slug, title, intro in ARTICLES:
            if not ArticlePage.objects.child_of(home).filter(slug=slug).exists():
                article = ArticlePage(title=title, slug=slug, intro=intro, image=image,
                                      body=f"<p>{intro}</p><p>More soon on the example site.</p>")  # fmt: skip
                home.add_child(instance=article)
                article.save_revision().publish()
        values = NewsletterTemplate.values_from_page(newsletter)
        values["body"] = weekly_digest_body(copy.deepcopy(values["body"].get_prep_value()), home)
        values["subject"] = f"New on the example site this week, {GREETING}"
        values["preheader"] = ""  # the digest writes the titles of the week's pages there
        template, _ = NewsletterTemplate.objects.update_or_create(
            name=DIGEST_TEMPLATE_NAME,
            defaults={**values, "description": "The weekly page digest: a greeting, the new pages, the footer."},
        )
        digest = Digest.objects.filter(name=DIGEST_NAME).first()
        if digest is None:  # the first issue gathers the articles above (published since)
            digest = Digest(name=DIGEST_NAME, published_since=since)
        digest.template, digest.archive = template, archive
        digest.frequency, digest.weekday, digest.hour, digest.minute = "weekly", 0, 8, 0
        digest.review, digest.all_subscribers = True, False
        digest.include_groups.set([groups["Weekly news"]])
        digest.page_types.set([ContentType.objects.get_for_model(ArticlePage)])
        digest.save()
        DigestParentPage.objects.get_or_create(digest=digest, page=home)
        return digest


DIGEST_NAME = "Weekly pages"
DIGEST_TEMPLATE_NAME = "Weekly page digest"
ARTICLES = [
    # (slug, title, intro): the example site's news, gathered by the weekly page digest
    ("spring-planting-guide", "A spring planting guide", "What to sow in April, and what to wait for."),
    ("community-garden-opens", "The community garden opens", "Forty plots, a tool shed and a bench in the sun."),
]


def weekly_digest_body(body, home):
    """The Welcome issue's heading, a greeting, one article teaser (where the digest puts the week's pages) and the
    footer (raw data)."""
    heading = next(block for block in body if block["type"] == "heading")
    heading["value"]["text"] = "New on the example site this week"
    greeting = {"type": "rich_text", "value": rich_text(f"<p>Hello {GREETING}, here is what we published.</p>")}
    placeholder = {"type": "article_teaser", "value": {"page": home.pk, "title": "", "summary": "", "image": None,
                                                       "image_alt_text": "", "link_label": ""}}  # fmt: skip
    footer = next(block for block in body if block["type"] == "footer")
    return [heading, greeting, placeholder, footer]


def banner_png(width=1200, height=480):
    """A PNG banner: a blue gradient, a sun and hills (made at run time with Pillow)."""
    image = PILImage.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        shade = y / height
        draw.line([(0, y), (width, y)], fill=(int(26 + 120 * shade), int(86 + 110 * shade), int(219 + 20 * shade)))
    draw.ellipse([width * 0.7, height * 0.15, width * 0.7 + 160, height * 0.15 + 160], fill=(255, 214, 102))
    draw.polygon(
        [(0, height), (0, height * 0.7), (width * 0.35, height * 0.45), (width * 0.7, height)], fill=(46, 125, 50)
    )
    draw.polygon([(width * 0.3, height), (width * 0.75, height * 0.55), (width, height * 0.75), (width, height)],
                 fill=(67, 160, 71))  # fmt: skip
    output = BytesIO()
    image.save(output, "PNG")
    return output.getvalue()


GREETING_FR = '{{ first_name|default:"à vous" }}'
FRENCH_READER = ("camille@example.com", "Camille", "Claudel", {"city": "Lyon"})
# The French issue's texts, by the English text of the block they replace (the other blocks stay as copied).
FRENCH_TEXTS = {
    "Welcome to the Weekly news": "Bienvenue dans les nouvelles de la semaine",
    "What's new": "Quoi de neuf",
    "Coming next": "À venir",
    "Visit the site": "Visiter le site",
    "Spring is here.": "Le printemps est là.",
}
FRENCH_GREETING = (
    f"<p>Bonjour {GREETING_FR},</p>"
    "<p>Merci de votre inscription. Chaque semaine, nous envoyons un court résumé de ce qui s'est passé sur le site "
    "d'exemple, construit avec <a href=\"https://wagtail.org/fr/\">Wagtail</a>. Ce premier numéro montre ce qu'une "
    "lettre d'information peut contenir.</p>"
)


def french_body(body):
    """The Welcome issue's blocks (raw data, block ids kept) with French texts."""
    body = copy.deepcopy(body)

    def translate(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, str) and item in FRENCH_TEXTS:
                    value[key] = FRENCH_TEXTS[item]
                else:
                    translate(item)
        elif isinstance(value, list):
            for item in value:
                translate(item)

    translate(body)
    greeting = next(block for block in body if block["type"] == "rich_text")
    greeting["value"]["text"] = FRENCH_GREETING
    return body


def rich_text(html):
    return {"text": html}


def monthly_body(body):
    """The Welcome issue's blocks (raw data) with the heading and greeting of a monthly issue."""
    heading = next(block for block in body if block["type"] == "heading")
    heading["value"]["text"] = "This month at the example site"
    greeting = next(block for block in body if block["type"] == "rich_text")
    greeting["value"] = rich_text(
        f"<p>Hello {GREETING},</p>"
        "<p>Here is our monthly digest of what happened on the example site, built with "
        '<a href="https://wagtail.org/">Wagtail</a>.</p>'
    )
    return body


def newsletter_body(home, image):
    """The Welcome issue's blocks (raw StreamField data): one of each kind an editor uses most."""
    return [
        {"type": "heading", "value": {"text": "Welcome to the Weekly news", "level": "1", "alignment": "left"}},
        {
            "type": "rich_text",
            "value": rich_text(
                f"<p>Hello {GREETING},</p>"
                "<p>Thanks for subscribing. Every week we send a short digest of what happened on the example "
                'site, built with <a href="https://wagtail.org/">Wagtail</a>. This first issue shows what a '
                "newsletter can hold.</p>"
            ),
        },
        {
            "type": "image",
            "value": {
                "image": image.pk,
                "alt_text": "A drawing of green hills under a yellow sun and a blue sky",
                "caption": "Spring is here.",
                "link": "",
            },
        },
        {
            "type": "button",
            "value": {"label": "Visit the site", "page": home.pk, "url": "", "alignment": "center"},
        },
        {
            "type": "two_columns",
            "value": {
                "left": [
                    {"type": "heading", "value": {"text": "What's new", "level": "3", "alignment": "left"}},
                    {
                        "type": "rich_text",
                        "value": rich_text("<p>Sign-up forms with double opt-in, groups and custom fields.</p>"),
                    },
                ],
                "right": [
                    {"type": "heading", "value": {"text": "Coming next", "level": "3", "alignment": "left"}},
                    {
                        "type": "rich_text",
                        "value": rich_text("<p>Campaigns, scheduled sending and reports on opens and clicks.</p>"),
                    },
                ],
            },
        },
        {
            "type": "quote",
            "value": {"text": "Simplicity is prerequisite for reliability.", "attribution": "Edsger W. Dijkstra"},
        },
        {
            "type": "article_teaser",
            "value": {
                "page": home.pk,
                "title": "Subscribe a friend",
                "summary": "The sign-up form on our home page takes a minute. Pass it on!",
                "image": None,
                "image_alt_text": "",
                "link_label": "Open the home page",
            },
        },
        {"type": "divider", "value": None},
        {
            "type": "social_links",
            "value": {
                "links": [
                    {"network": "mastodon", "url": "https://mastodon.social/@wagtail"},
                    {"network": "website", "url": "https://wagtail.org/"},
                ],
                "alignment": "center",
            },
        },
        {
            "type": "footer",
            "value": {
                "address": POSTAL_ADDRESS,
                "text": "You receive this email because you subscribed on the example site.",
                "unsubscribe_label": "",
                "web_version_label": "",
            },
        },
    ]
