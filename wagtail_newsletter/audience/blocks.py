"""The StreamField block that places a SubscriptionForm on any page."""

from django.db.models import F
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.snippets.blocks import SnippetChooserBlock

from .signup_form import SignupForm
from .subscription_form import SubscriptionForm


def count_view(snippet, context):
    """Count one view of ``snippet`` when it is shown on a live page to a visitor.

    Previews (``request.is_preview``), Wagtail's dummy requests and renders outside a live page
    (admin block previews) do not count. One atomic UPDATE: concurrent views never overwrite
    each other.
    """
    request = context.get("request")
    page = context.get("page")
    if request is None or getattr(request, "is_preview", False) or getattr(request, "is_dummy", False):
        return False
    if page is None or not getattr(page, "live", False):
        return False
    SubscriptionForm.objects.filter(pk=snippet.pk).update(views=F("views") + 1)
    return True


class SubscriptionFormBlock(blocks.StructBlock):
    form = SnippetChooserBlock("wagtail_newsletter.SubscriptionForm", label=_("Subscription form"))

    class Meta:
        icon = "mail"
        label = _("Newsletter subscription form")
        template = "wagtail_newsletter/blocks/subscription_form_block.html"

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        snippet = value.get("form")
        if snippet is not None:
            context["snippet"] = snippet
            context["signup_form"] = SignupForm(snippet)
            count_view(snippet, context)
        return context
