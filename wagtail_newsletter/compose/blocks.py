"""Email-safe StreamField blocks of newsletters.

Each block renders table-based HTML (role="presentation", widths in attributes, no flexbox/grid, no script, no web
fonts) from its own template under ``wagtail_newsletter/compose/blocks/``. The document (``rendering.py``) wraps each
block in a row of the content table and passes the ``theme`` and the ``content_width`` (pixels) in the context;
columns pass a smaller ``content_width`` to the blocks inside them.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.blocks.struct_block import StructBlockValidationError
from wagtail.images.blocks import ImageChooserBlock

from .rendering import email_image

# Rich-text features that mail clients render reliably.
# "newsletter-variable" is the toolbar control that inserts a personalisation variable (admin/compose/editor.py).
RICH_TEXT_FEATURES = ["bold", "italic", "link", "ol", "ul", "h2", "h3", "newsletter-variable"]

ALIGNMENT_CHOICES = [("left", _("Left")), ("center", _("Centre")), ("right", _("Right"))]


def _alignment_block(default="left"):
    return blocks.ChoiceBlock(choices=ALIGNMENT_CHOICES, default=default, label=_("Alignment"))


class EmailBlockMixin:
    """The content width available to a block, from the document or the enclosing column."""

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        context.setdefault("content_width", 552)
        return context


class HeadingBlock(EmailBlockMixin, blocks.StructBlock):
    text = blocks.CharBlock(max_length=200, label=_("Text"))
    level = blocks.ChoiceBlock(
        choices=[("1", _("Level 1")), ("2", _("Level 2")), ("3", _("Level 3"))], default="2", label=_("Level")
    )
    alignment = _alignment_block()

    class Meta:
        icon = "title"
        label = _("Heading")
        template = "wagtail_newsletter/compose/blocks/heading.html"


class TextBlock(EmailBlockMixin, blocks.StructBlock):
    text = blocks.RichTextBlock(features=RICH_TEXT_FEATURES, label=_("Text"))

    class Meta:
        icon = "pilcrow"
        label = _("Rich text")
        template = "wagtail_newsletter/compose/blocks/text.html"


class ImageBlock(EmailBlockMixin, blocks.StructBlock):
    image = ImageChooserBlock(label=_("Image"))
    alt_text = blocks.CharBlock(
        max_length=255,
        label=_("Alternative text"),
        help_text=_("Shown when images are blocked and read by screen readers. Describe what the image shows."),
    )
    caption = blocks.CharBlock(max_length=255, required=False, label=_("Caption"))
    link = blocks.URLBlock(required=False, label=_("Link"))

    class Meta:
        icon = "image"
        label = _("Image")
        template = "wagtail_newsletter/compose/blocks/image.html"

    def clean(self, value):
        value = super().clean(value)
        if not (value.get("alt_text") or "").strip():
            raise StructBlockValidationError({"alt_text": ValidationError(_("Alternative text is required."))})
        return value

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        context["email_image"] = email_image(value.get("image"), context["content_width"])
        return context


class ButtonBlock(EmailBlockMixin, blocks.StructBlock):
    label = blocks.CharBlock(max_length=80, label=_("Label"))
    page = blocks.PageChooserBlock(required=False, label=_("Page"))
    url = blocks.URLBlock(required=False, label=_("URL"), help_text=_("Used when no page is chosen."))
    alignment = _alignment_block("center")

    class Meta:
        icon = "link"
        label = _("Button")
        template = "wagtail_newsletter/compose/blocks/button.html"

    def clean(self, value):
        value = super().clean(value)
        if not value.get("page") and not value.get("url"):
            raise StructBlockValidationError({"url": ValidationError(_("Choose a page or enter a URL."))})
        return value

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        context["href"] = link_target(value.get("page"), value.get("url"))
        return context


def link_target(page, url):
    """The address a link goes to: a chosen page's full URL first, else the typed URL."""
    if page is not None:
        return page.specific.get_full_url() or url or ""
    return url or ""


class DividerBlock(EmailBlockMixin, blocks.StaticBlock):
    class Meta:
        icon = "horizontalrule"
        label = _("Divider")
        admin_text = _("A horizontal line.")
        template = "wagtail_newsletter/compose/blocks/divider.html"


class SpacerBlock(EmailBlockMixin, blocks.StructBlock):
    height = blocks.IntegerBlock(min_value=4, max_value=120, default=24, label=_("Height (pixels)"))

    class Meta:
        icon = "arrows-up-down"
        label = _("Spacer")
        template = "wagtail_newsletter/compose/blocks/spacer.html"


class QuoteBlock(EmailBlockMixin, blocks.StructBlock):
    text = blocks.TextBlock(label=_("Quote"))
    attribution = blocks.CharBlock(max_length=200, required=False, label=_("Attribution"))

    class Meta:
        icon = "openquote"
        label = _("Quote")
        template = "wagtail_newsletter/compose/blocks/quote.html"


class ArticleTeaserBlock(EmailBlockMixin, blocks.StructBlock):
    page = blocks.PageChooserBlock(label=_("Article"))
    title = blocks.CharBlock(
        max_length=200, required=False, label=_("Title"), help_text=_("Default: the page's title.")
    )
    summary = blocks.TextBlock(
        required=False, label=_("Summary"), help_text=_("Default: the page's search description.")
    )
    image = ImageChooserBlock(required=False, label=_("Image"))
    image_alt_text = blocks.CharBlock(
        max_length=255, required=False, label=_("Image alternative text"), help_text=_("Default: the title.")
    )
    link_label = blocks.CharBlock(
        max_length=80, required=False, label=_("Link text"), help_text=_("Default: Read more")
    )

    class Meta:
        icon = "doc-full"
        label = _("Article teaser")
        template = "wagtail_newsletter/compose/blocks/article_teaser.html"

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        page = value.get("page")
        specific = page.specific if page is not None else None
        context["teaser"] = {
            "title": value.get("title") or (specific.title if specific else ""),
            "summary": value.get("summary") or (getattr(specific, "search_description", "") if specific else ""),
            "href": specific.get_full_url() if specific else "",
            "image": email_image(value.get("image"), context["content_width"]),
            "alt_text": value.get("image_alt_text") or value.get("title") or (specific.title if specific else ""),
            "link_label": value.get("link_label") or _("Read more"),
        }
        return context


SOCIAL_NETWORKS = [
    ("facebook", "Facebook"),
    ("x", "X"),
    ("linkedin", "LinkedIn"),
    ("instagram", "Instagram"),
    ("youtube", "YouTube"),
    ("mastodon", "Mastodon"),
    ("bluesky", "Bluesky"),
    ("website", _("Website")),
]


class SocialLinkBlock(blocks.StructBlock):
    network = blocks.ChoiceBlock(choices=SOCIAL_NETWORKS, label=_("Network"))
    url = blocks.URLBlock(label=_("URL"))

    class Meta:
        icon = "link"
        label = _("Social link")


class SocialLinksBlock(EmailBlockMixin, blocks.StructBlock):
    links = blocks.ListBlock(SocialLinkBlock(), min_num=1, label=_("Links"))
    alignment = _alignment_block("center")

    class Meta:
        icon = "site"
        label = _("Social links")
        template = "wagtail_newsletter/compose/blocks/social_links.html"

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        names = dict(SOCIAL_NETWORKS)
        context["links"] = [
            {"label": names.get(link["network"], link["network"]), "url": link["url"]} for link in value["links"]
        ]
        return context


class RawHTMLBlock(EmailBlockMixin, blocks.RawHTMLBlock):
    class Meta:
        icon = "code"
        label = _("Raw HTML (for experts)")
        template = "wagtail_newsletter/compose/blocks/raw_html.html"


class FooterBlock(EmailBlockMixin, blocks.StructBlock):
    address = blocks.TextBlock(
        label=_("Postal address"), help_text=_("Required by anti-spam laws in many countries (CAN-SPAM).")
    )
    text = blocks.CharBlock(
        max_length=300,
        required=False,
        label=_("Text"),
        help_text=_("E.g. why the reader receives this newsletter."),
    )
    unsubscribe_label = blocks.CharBlock(max_length=80, required=False, label=_("Unsubscribe link text"))
    web_version_label = blocks.CharBlock(max_length=80, required=False, label=_("Web version link text"))

    class Meta:
        icon = "mail"
        label = _("Footer")
        template = "wagtail_newsletter/compose/blocks/footer.html"


def column_blocks():
    """The simpler blocks allowed inside a column."""
    return [
        ("heading", HeadingBlock()),
        ("rich_text", TextBlock()),
        ("image", ImageBlock()),
        ("button", ButtonBlock()),
        ("divider", DividerBlock()),
        ("spacer", SpacerBlock()),
        ("quote", QuoteBlock()),
    ]


class ColumnBlock(blocks.StreamBlock):
    def __init__(self, **kwargs):
        super().__init__(column_blocks(), **kwargs)


class ColumnsBlock(EmailBlockMixin, blocks.StructBlock):
    """Columns side by side on wide screens, stacked on phones (``.wn-column`` rules in the theme CSS)."""

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        count = len(self.child_blocks)
        gutter = 16
        column_width = (context["content_width"] - gutter * (count - 1)) // count
        context["columns"] = list(value.values())
        context["column_width"] = column_width
        context["column_percent"] = 100 // count
        context["gutter"] = gutter
        return context


class TwoColumnsBlock(ColumnsBlock):
    left = ColumnBlock(label=_("Left column"))
    right = ColumnBlock(label=_("Right column"))

    class Meta:
        icon = "grip"
        label = _("Two columns")
        template = "wagtail_newsletter/compose/blocks/columns.html"


class ThreeColumnsBlock(ColumnsBlock):
    left = ColumnBlock(label=_("Left column"))
    middle = ColumnBlock(label=_("Middle column"))
    right = ColumnBlock(label=_("Right column"))

    class Meta:
        icon = "grip"
        label = _("Three columns")
        template = "wagtail_newsletter/compose/blocks/columns.html"


def newsletter_blocks():
    """The blocks of a newsletter's body (NewsletterPage and NewsletterTemplate)."""
    return [
        *column_blocks()[:4],
        ("two_columns", TwoColumnsBlock()),
        ("three_columns", ThreeColumnsBlock()),
        *column_blocks()[4:],
        ("article_teaser", ArticleTeaserBlock()),
        ("social_links", SocialLinksBlock()),
        ("raw_html", RawHTMLBlock()),
        ("footer", FooterBlock()),
    ]
