"""Admin views of the Outbox: mails caught by ``smtp_catcher``. Registered under /admin/outbox/,
so Wagtail's admin-access check applies to every one of them."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from .messages import clear_messages, list_messages, read_message


class OutboxIndexView(WagtailAdminTemplateMixin, TemplateView):
    page_title = gettext_lazy("Outbox")
    header_icon = "mail"
    template_name = "outbox/index.html"

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        return super().get_context_data(outbox_messages=list_messages(), **kwargs)


class OutboxMessageView(WagtailAdminTemplateMixin, TemplateView):
    header_icon = "mail"
    template_name = "outbox/detail.html"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.message = read_message(kwargs["name"])
        if self.message is None:
            raise Http404(_("This mail is not in the outbox."))

    def get_page_title(self):
        return self.message.subject or _("(no subject)")

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("outbox:index"), "label": _("Outbox")},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs):
        return super().get_context_data(message=self.message, **kwargs)


# As in the detail page's frame: no script, links open in a new tab; nothing else is restricted (images load).
HTML_PART_CSP = "sandbox allow-popups allow-popups-to-escape-sandbox"


def message_html(request, name):
    """The HTML part alone, full size: what the detail page shows in its frame."""
    message = read_message(name)
    if message is None or not message.html:
        raise Http404(_("This mail is not in the outbox."))
    response = HttpResponse(message.html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = HTML_PART_CSP
    return response


@require_POST
def clear_outbox(request):
    count = clear_messages()
    messages.success(request, _("Outbox cleared: %(count)d mails deleted.") % {"count": count})
    return redirect("outbox:index")
