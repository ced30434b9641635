"""What tests/test_installation_walk.py does inside the project it made with ``wagtail start``: a script copied into
that project and run there (its own settings, the installed wheel), one action per run, printing a JSON result.

    python installed_site_actions.py signup            # editor prepares the site, a visitor signs up
    python installed_site_actions.py confirm <path>    # the visitor follows the confirmation link
    python installed_site_actions.py send              # the editor composes a newsletter and sends it

Editors' steps that are plain form posts go through the admin with Django's test client; the newsletter's body is
written as data (a StreamField editor is a browser's job, covered by tests/test_browser_compose.py).
"""

import json
import os
import sys
import time
from html.parser import HTMLParser

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings.dev")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from wagtail.models import Site  # noqa: E402
from wagtail.test.utils.form_data import inline_formset, nested_form_data  # noqa: E402

import wagtail_newsletter  # noqa: E402
from wagtail_newsletter.conf import newsletter_settings  # noqa: E402
from wagtail_newsletter.models import NewsletterIndexPage, NewsletterPage, Subscriber, SubscriptionForm  # noqa: E402
from wagtail_newsletter.send import campaigns  # noqa: E402

READER = "reader@example.net"
NEWSLETTER_BODY = [
    {"type": "heading", "value": {"text": 'Hello {{ first_name|default:"reader" }}', "level": "1",
                                  "alignment": "left"}},
    {"type": "rich_text", "value": {"text": "<p>Our first issue, sent from a fresh project.</p>"}},
    {"type": "footer", "value": {"address": "1 Main Street", "text": "", "unsubscribe_label": "",
                                 "web_version_label": ""}},
]  # fmt: skip


class FormInputs(HTMLParser):
    """The action and the named inputs of the first <form> posting to the newsletter's sign-up URL."""

    def __init__(self):
        super().__init__()
        self.action, self.inputs, self._inside = None, {}, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None and "/newsletter/subscribe/" in (attrs.get("action") or ""):
            self.action, self._inside = attrs["action"], True
        elif tag == "input" and self._inside and attrs.get("name"):
            self.inputs[attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._inside = False


def editor_client():
    user = get_user_model().objects.create_superuser("editor", "editor@example.org", "a long password")
    client = Client()
    client.force_login(user)
    return client


def signup():
    editor = editor_client()
    home = Site.objects.get(is_default_site=True).root_page.specific
    # content_panels shows the body, so the editor is offered the form block.
    edit_page = editor.get(f"/admin/pages/{home.pk}/edit/")
    block_offered = edit_page.status_code == 200 and b"newsletter_form" in edit_page.content
    # Pages -> home -> Add child page -> Newsletter archive, published.
    archive_post = editor.post(
        f"/admin/pages/add/wagtail_newsletter/newsletterindexpage/{home.pk}/",
        nested_form_data({"title": "Newsletter", "slug": "newsletter", "introduction": "",
                          "comments": inline_formset([]), "action-publish": "publish"}),
    )  # fmt: skip
    form = SubscriptionForm.objects.create(name="Home page", title="Our newsletter")
    home.body = [{"type": "newsletter_form", "value": {"form": form.pk}}]
    home.save_revision().publish()

    visitor = Client()
    home_page = visitor.get("/")
    inputs = FormInputs()
    inputs.feed(home_page.content.decode())
    result = {
        "package": wagtail_newsletter.__file__,
        "database": connection.vendor,
        "block_offered": block_offered,
        "archive_created": archive_post.status_code == 302 and NewsletterIndexPage.objects.live().exists(),
        "form_shown": inputs.action is not None,
    }
    if inputs.action:
        time.sleep(newsletter_settings.MIN_FILL_SECONDS)  # a human takes a moment to fill the form in
        data = {**inputs.inputs, "email": READER, "consent": "on"}
        answer = visitor.post(inputs.action, data)
        result["signup_answer"] = answer.status_code
        result["status"] = Subscriber.all_objects.filter(email=READER).values_list("status", flat=True).first()
    return result


def confirm(path):
    answer = Client().post(path)
    status = Subscriber.all_objects.filter(email=READER).values_list("status", flat=True).first()
    return {"confirm_answer": answer.status_code, "status": status}


def send():
    archive = NewsletterIndexPage.objects.get()
    page = archive.add_child(
        instance=NewsletterPage(title="First issue", subject="Our first issue", body=NEWSLETTER_BODY)
    )  # no sender of its own: DEFAULT_FROM_EMAIL sends it
    page.save_revision().publish()
    campaign = campaigns.create_campaign(page)
    campaigns.set_audience(campaign, all_subscribers=True)
    problems = [str(problem) for problem in campaigns.check_can_send(campaign)]
    if not problems:
        campaign = campaigns.send_now(campaign)
    return {"problems": problems, "status": campaign.status}


if __name__ == "__main__":
    action, *arguments = sys.argv[1:]
    print(json.dumps({"signup": signup, "confirm": confirm, "send": send}[action](*arguments)))
