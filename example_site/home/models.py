from django.db import models
from wagtail import blocks
from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page

from wagtail_newsletter.audience.blocks import SubscriptionFormBlock


class HomePage(Page):
    """The example site's home page: rich text and a newsletter subscription form block."""

    body = StreamField(
        [
            ("heading", blocks.CharBlock(form_classname="title")),
            ("paragraph", blocks.RichTextBlock()),
            ("newsletter_form", SubscriptionFormBlock()),
        ],
        blank=True,
        use_json_field=True,
    )

    content_panels = Page.content_panels + [FieldPanel("body")]


class ArticlePage(Page):
    """A news article of the example site: the weekly page digest mails a teaser of each new one (its intro and
    image)."""

    intro = models.TextField(blank=True)
    image = models.ForeignKey("wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    body = RichTextField(blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro"), FieldPanel("image"), FieldPanel("body")]
    parent_page_types = ["home.HomePage"]
    subpage_types = []
