"""The StreamField block that places a SubscriptionForm on any page."""

from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.snippets.blocks import SnippetChooserBlock


class SubscriptionFormBlock(blocks.StructBlock):
    form = SnippetChooserBlock("wagtail_newsletter.SubscriptionForm", label=_("Subscription form"))

    class Meta:
        icon = "mail"
        label = _("Newsletter subscription form")
        template = "wagtail_newsletter/blocks/subscription_form_block.html"
