"""The demo's automations (called by ``setup_demo``): a three-mail welcome series started when someone confirms a
subscription through the home page's form, and a birthday mail at 9:00 (site time) on the birthday field's date.
Idempotent: a second run updates the pages and steps and keeps the people already going through them."""

from wagtail_newsletter.compose.models import NewsletterPage
from wagtail_newsletter.growth.automations.models import Automation, AutomationStep, StepKind, Trigger

WELCOME_NAME = "Welcome series"
BIRTHDAY_NAME = "Birthday mail"
WELCOME_MAILS = [
    ("welcome-1", "Welcome 1: glad you're here", "Welcome, {{ first_name|default:\"friend\" }}!",
     "<p>Thanks for confirming. Here is what the Weekly news brings you every week.</p>"),
    ("welcome-2", "Welcome 2: the best of the archive", "Our readers' favourite issues",
     "<p>While you wait for Monday, three issues readers liked most.</p>"),
    ("welcome-3", "Welcome 3: tell us what you like", "What would you like to read?",
     "<p>Pick your topics on your preference page: we send only what you choose.</p>"),
]  # fmt: skip
BIRTHDAY_MAIL = ("happy-birthday", "Happy birthday", "Happy birthday, {{ first_name|default:\"friend\" }}!",
                 "<p>All of us at the example site wish you a wonderful day.</p>")  # fmt: skip


def _body(title, html):
    footer = {"address": "Example site, 1 Main Street", "text": "", "unsubscribe_label": "", "web_version_label": ""}
    return [
        {"type": "heading", "value": {"text": title, "level": "1", "alignment": "left"}},
        {"type": "rich_text", "value": {"text": html}},
        {"type": "footer", "value": footer},
    ]


def _mail(archive, sender_email, slug, title, subject, html):
    page = NewsletterPage.objects.child_of(archive).filter(slug=slug).first()
    if page is None:
        page = archive.add_child(instance=NewsletterPage(title=title, slug=slug, subject=subject))
    page.title, page.subject = title, subject
    page.sender_name, page.sender_email, page.reply_to = "Example newsletter", sender_email, sender_email
    page.language = "en"
    page.body = _body(title.split(": ", 1)[-1], html)
    page.save_revision().publish()
    return page


def _steps(automation, steps):
    automation.steps.all().delete()
    for order, values in enumerate(steps):
        AutomationStep.objects.create(automation=automation, sort_order=order, **values)


def ensure_demo_automations(archive, form, birthday_field, sender_email):
    """The welcome series (mail 1 at once, mail 2 two days later, mail 3 three days after that) and the birthday
    mail, both active. Returns them."""
    mails = [_mail(archive, sender_email, *mail) for mail in WELCOME_MAILS]
    welcome, created = Automation.objects.update_or_create(
        name=WELCOME_NAME, defaults={"trigger": Trigger.CONFIRMED, "form": form, "active": True}
    )
    if created or welcome.steps.count() != 5:
        _steps(welcome, [
            {"kind": StepKind.SEND, "page": mails[0]},
            {"kind": StepKind.WAIT, "wait_amount": 2, "wait_unit": "days"},
            {"kind": StepKind.SEND, "page": mails[1]},
            {"kind": StepKind.WAIT, "wait_amount": 3, "wait_unit": "days"},
            {"kind": StepKind.SEND, "page": mails[2]},
        ])  # fmt: skip
    birthday_page = _mail(archive, sender_email, *BIRTHDAY_MAIL)
    birthday, created = Automation.objects.update_or_create(
        name=BIRTHDAY_NAME,
        defaults={"trigger": Trigger.ANNIVERSARY, "date_field": birthday_field, "local_hour": 9, "active": True},
    )
    if created or birthday.steps.count() != 1:
        _steps(birthday, [{"kind": StepKind.SEND, "page": birthday_page}])
    return welcome, birthday
