"""Newsletter pages, the public archive page and reusable newsletter templates.

Like Wagtail's forms (``FormMixin`` + ``AbstractForm``), the behaviour lives in ``NewsletterPageMixin``, the fields in
the abstract ``AbstractNewsletterPage``; ``NewsletterPage`` is the concrete page type. A project that wants its own
newsletter page type subclasses ``AbstractNewsletterPage``.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.http import HttpResponse
from django.utils.translation import get_supported_language_variant
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, ObjectList, TabbedInterface
from wagtail.fields import StreamField
from wagtail.models import Page

from ..audience.fields import InvalidValue, clean_text
from ..conf import newsletter_settings
from . import rendering, themes
from .blocks import newsletter_blocks
from .compiled import compile_page, page_base_url
from .personalise import personalise, sample_recipient
from .sharing import share_links
from .themes import DEFAULT_THEME, theme_choices


def language_choices():
    return list(settings.LANGUAGES)


def default_language():
    """LANGUAGE_CODE as one of LANGUAGES: a `wagtail start` project's "en-us" is "en" in Django's default LANGUAGES."""
    try:
        return get_supported_language_variant(settings.LANGUAGE_CODE)
    except LookupError:
        return settings.LANGUAGE_CODE


def validate_one_line(value):
    """Reject line breaks and control characters: these fields end up in mail headers."""
    try:
        clean_text(value, max_length=10_000)
    except InvalidValue as exc:
        raise ValidationError(str(exc), code="one_line") from exc


class NewsletterPageMixin:
    """What makes a page a newsletter: its email document, web version and preview modes."""

    preview_modes = [("email", _("Email")), ("text", _("Plain text"))]
    # Wagtail's preview panel toggles between these widths; 375 px is a common phone.
    preview_sizes = [
        {"name": "mobile", "icon": "mobile-alt", "device_width": 375, "label": _("Preview in mobile size")},
        {"name": "desktop", "icon": "desktop", "device_width": 1024, "label": _("Preview in desktop size")},
    ]

    def get_utm_campaign(self):
        return self.utm_campaign or self.slug

    def get_theme(self):
        return themes.get_theme(self.theme)

    def render_email_document(self, request=None):
        """The full HTML document with merge tags as typed (see ``rendering.render_email_document``)."""
        return rendering.render_email_document(self, request=request)

    def personalised_for(self, recipient):
        """The newsletter as ``personalise`` makes it for ``recipient`` (a Subscriber or a mapping).

        Compiled without the request, like a send: the preview is byte-for-byte what that recipient would get.
        """
        return personalise(compile_page(self), recipient)

    def preview_recipient(self):
        """The subscriber chosen in "Preview as", else the sample recipient."""
        subscriber = getattr(self, "preview_subscriber", None)
        return subscriber or sample_recipient(language=self.language, base_url=page_base_url(self))

    def personalised_sample(self):
        return self.personalised_for(self.preview_recipient())

    def serve(self, request, *args, **kwargs):
        """The web version: public, so nobody's data: every variable shows its default."""
        return HttpResponse(self.web_version_html(request), content_type="text/html; charset=utf-8")

    def web_version_html(self, request=None):
        anonymous = {"email": "", "first_name": "", "last_name": "", "language": self.language, "data": {}}
        return self.personalised_for(anonymous).html

    def serve_preview(self, request, mode_name):
        # The preview posts the whole edit form, so a newly chosen "Preview as" subscriber applies at once.
        personalised = self.personalised_sample()
        if mode_name == "text":
            return HttpResponse(personalised.text, content_type="text/plain; charset=utf-8")
        return HttpResponse(personalised.html, content_type="text/html; charset=utf-8")


class AbstractNewsletterPage(NewsletterPageMixin, Page):
    body = StreamField(newsletter_blocks(), blank=True, verbose_name=_("body"))
    subject = models.CharField(
        _("subject"),
        max_length=200,
        validators=[validate_one_line],
        help_text=_('The email\'s subject line. Variables such as {{ first_name|default:"there" }} are allowed.'),
    )
    preheader = models.CharField(
        _("preheader"),
        max_length=200,
        blank=True,
        validators=[validate_one_line],
        help_text=_("Preview text shown after the subject in most inboxes."),
    )
    sender_name = models.CharField(_("sender name"), max_length=100, blank=True, validators=[validate_one_line])
    sender_email = models.EmailField(
        _("sender address"),
        blank=True,
        validators=[validate_one_line],
        help_text=_("Must belong to a verified sender domain. Empty: the site's default sender."),
    )
    reply_to = models.EmailField(_("reply-to address"), blank=True, validators=[validate_one_line])
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=language_choices,
        default=default_language,
        help_text=_("Language of the unsubscribe page and other system texts."),
    )
    tracking_enabled = models.BooleanField(
        _("track clicks"), default=True, help_text=_("Links go through a redirect that counts clicks.")
    )
    track_opens = models.BooleanField(
        _("track opens"), default=True, help_text=_("Adds an invisible 1×1 image that counts opens.")
    )
    utm_source = models.CharField(_("UTM source"), max_length=100, blank=True, default="newsletter")
    utm_medium = models.CharField(_("UTM medium"), max_length=100, blank=True, default="email")
    utm_campaign = models.CharField(
        _("UTM campaign"), max_length=100, blank=True, help_text=_("Empty: the page's slug.")
    )
    theme = models.CharField(_("theme"), max_length=50, choices=theme_choices, default=DEFAULT_THEME)
    preview_subscriber = models.ForeignKey(
        "wagtail_newsletter.Subscriber",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("preview as"),
        help_text=_("The preview shows the newsletter with this subscriber's data. Empty: sample data."),
    )

    content_panels = Page.content_panels + [FieldPanel("theme"), FieldPanel("body")]
    email_panels = [
        MultiFieldPanel(
            [FieldPanel("subject"), FieldPanel("preheader")],
            heading=_("Message"),
        ),
        MultiFieldPanel(
            [FieldRowPanel([FieldPanel("sender_name"), FieldPanel("sender_email")]), FieldPanel("reply_to")],
            heading=_("Sender"),
        ),
        FieldPanel("language"),
        FieldPanel("preview_subscriber"),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("track_opens"), FieldPanel("tracking_enabled")]),
                FieldRowPanel([FieldPanel("utm_source"), FieldPanel("utm_medium"), FieldPanel("utm_campaign")]),
            ],
            heading=_("Tracking"),
        ),
    ]
    edit_handler = TabbedInterface(
        [
            ObjectList(content_panels, heading=_("Content")),
            ObjectList(email_panels, heading=_("Email")),
            ObjectList(Page.promote_panels, heading=_("Promote")),
            ObjectList(Page.settings_panels, heading=_("Settings")),
        ]
    )

    class Meta:
        abstract = True


class NewsletterPage(AbstractNewsletterPage):
    parent_page_types = ["wagtail_newsletter.NewsletterIndexPage"]
    subpage_types = []

    class Meta:
        verbose_name = _("newsletter")
        verbose_name_plural = _("newsletters")


class NewsletterIndexPage(Page):
    """The public archive: the live newsletters below it, newest first, with share links."""

    introduction = models.TextField(_("introduction"), blank=True)
    per_page = 20

    content_panels = Page.content_panels + [FieldPanel("introduction")]
    subpage_types = ["wagtail_newsletter.NewsletterPage"]
    template = "wagtail_newsletter/compose/index_page.html"

    class Meta:
        verbose_name = _("newsletter archive")
        verbose_name_plural = _("newsletter archives")

    def get_newsletters(self):
        return NewsletterPage.objects.live().public().child_of(self).order_by("-first_published_at", "-pk")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        page_obj = Paginator(self.get_newsletters(), self.per_page).get_page(request.GET.get("page"))
        context["page_obj"] = page_obj
        context["newsletters"] = [
            {"page": newsletter, "url": newsletter.get_full_url(request), "share": share_links(newsletter, request)}
            for newsletter in page_obj
        ]
        context["base_template"] = newsletter_settings.BASE_TEMPLATE
        return context


class NewsletterTemplate(models.Model):
    """A reusable starting point for newsletters: a theme, blocks and email settings."""

    name = models.CharField(_("name"), max_length=150)
    description = models.TextField(_("description"), blank=True)
    theme = models.CharField(_("theme"), max_length=50, choices=theme_choices, default=DEFAULT_THEME)
    body = StreamField(newsletter_blocks(), blank=True, verbose_name=_("body"))
    subject = models.CharField(_("subject"), max_length=200, blank=True, validators=[validate_one_line])
    preheader = models.CharField(_("preheader"), max_length=200, blank=True, validators=[validate_one_line])
    sender_name = models.CharField(_("sender name"), max_length=100, blank=True, validators=[validate_one_line])
    sender_email = models.EmailField(_("sender address"), blank=True, validators=[validate_one_line])
    reply_to = models.EmailField(_("reply-to address"), blank=True, validators=[validate_one_line])
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    panels = [
        FieldPanel("name"),
        FieldPanel("description"),
        FieldPanel("theme"),
        MultiFieldPanel(
            [FieldPanel("subject"), FieldPanel("preheader"), FieldPanel("sender_name"), FieldPanel("sender_email"),
             FieldPanel("reply_to")],
            heading=_("Email defaults"),
        ),
        FieldPanel("body"),
    ]  # fmt: skip

    # Copied between a template and a newsletter page, both ways.
    copied_fields = ("theme", "body", "subject", "preheader", "sender_name", "sender_email", "reply_to")

    class Meta:
        ordering = ["name"]
        verbose_name = _("newsletter template")
        verbose_name_plural = _("newsletter templates")

    def __str__(self):
        return self.name

    def page_values(self):
        """Field values for a new newsletter page made from this template."""
        return {name: getattr(self, name) for name in self.copied_fields}

    @classmethod
    def values_from_page(cls, page):
        """Field values for a template saved from newsletter ``page``."""
        return {name: getattr(page, name) for name in cls.copied_fields}
