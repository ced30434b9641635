"""The example site: demo content, its home page, the local SMTP catcher and the admin's Outbox."""

import datetime
import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from bs4 import BeautifulSoup
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from home.models import HomePage
from outbox.management.commands.smtp_catcher import OutboxHandler
from outbox.messages import list_messages, read_message, store_message
from wagtail.images.models import Image
from wagtail.models import Page, Site

from wagtail_newsletter.compose.checks import ERROR, preflight
from wagtail_newsletter.compose.compiled import compile_page
from wagtail_newsletter.compose.models import NewsletterIndexPage, NewsletterPage, NewsletterTemplate
from wagtail_newsletter.models import (
    Field,
    Group,
    Membership,
    StatusEvent,
    Subscriber,
    SubscriptionForm,
    SubscriptionFormField,
)
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.dkim_signing import load_private_key
from wagtail_newsletter.send.models import CampaignStatus, SenderDomain

from .conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
CONFIRM_URL = "http://127.0.0.1:8000/newsletter/confirm/abc/"


def demo_counts():
    return {
        model.__name__: model._default_manager.count()
        for model in (
            Subscriber, Group, Field, SubscriptionForm, SubscriptionFormField, Membership, StatusEvent,
            Page, Site, get_user_model(), NewsletterTemplate, Image, SenderDomain,
        )
    }  # fmt: skip


@pytest.fixture
def demo(db):
    call_command("setup_demo", stdout=open(os.devnull, "w"))


@pytest.fixture
def outbox(settings, tmp_path):
    settings.OUTBOX_DIR = tmp_path / "outbox"
    return settings.OUTBOX_DIR


@pytest.fixture
def catcher(outbox, settings):
    """The SMTP catcher's handler behind a real aiosmtpd server; Django's SMTP backend points at it."""
    port = free_port()
    controller = Controller(OutboxHandler(outbox), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    yield controller
    controller.stop()


@pytest.fixture
def admin_login(client, demo):
    assert client.login(username="admin", password="admin")
    return client


def send_confirmation_like_mail(subject="Please confirm your subscription"):
    message = EmailMultiAlternatives(
        subject, f"Confirm: {CONFIRM_URL}", "news@example.org", ["ada@example.com"]
    )  # fmt: skip
    message.attach_alternative(f'<p>Hello</p><p><a href="{CONFIRM_URL}">Confirm my subscription</a></p>', "text/html")
    message.send()


def test_setup_demo_run_twice_leaves_the_same_rows(demo):
    first = demo_counts()
    key = SenderDomain.objects.get().private_key
    call_command("setup_demo", stdout=open(os.devnull, "w"))
    assert demo_counts() == first
    assert first["Subscriber"] == 6 and first["Group"] == 3 and first["Field"] == 3
    assert first["NewsletterTemplate"] == 2 and first["Image"] == 1 and first["SenderDomain"] == 1
    assert SenderDomain.objects.get().private_key == key  # a new key would need a new DNS record


def test_setup_demo_gives_the_demo_senders_domain_a_dkim_key(demo):
    domain = SenderDomain.objects.get()
    assert (domain.domain, domain.selector) == ("example.org", "newsletter")
    assert NewsletterPage.objects.get(title="Welcome issue").sender_email.endswith("@example.org")
    assert load_private_key(domain.private_key).key_size == 2048


def test_setup_demo_admin_may_send_campaigns(demo):
    assert get_user_model().objects.get(username="admin").has_perm(campaigns.PERMISSION)


def test_setup_demo_publishes_a_welcome_issue_in_the_newsletter_archive(demo):
    archive = NewsletterIndexPage.objects.get(title="Newsletter archive")
    newsletter = NewsletterPage.objects.get(title="Welcome issue")
    assert newsletter.live and newsletter.get_parent().pk == archive.pk
    assert '{{ first_name|default:"there" }}' in newsletter.subject
    assert newsletter.sender_email == "news@example.org"
    kinds = [block.block_type for block in newsletter.body]
    for kind in ("heading", "rich_text", "image", "button", "two_columns", "quote", "article_teaser", "footer"):
        assert kind in kinds


def test_setup_demo_welcome_issue_passes_the_preflight_checklist(demo):
    newsletter = NewsletterPage.objects.get(title="Welcome issue")
    errors = [check for check in preflight(compile_page(newsletter)) if check.level == ERROR]
    assert errors == []


def test_setup_demo_monthly_digest_template_copies_the_welcome_issue_blocks(demo):
    template = NewsletterTemplate.objects.get(name="Monthly digest")
    newsletter = NewsletterPage.objects.get(title="Welcome issue")
    assert [block.block_type for block in template.body] == [block.block_type for block in newsletter.body]
    assert template.sender_email == "news@example.org"


def test_setup_demo_monthly_digest_template_speaks_of_a_month_not_a_week(demo):
    template = NewsletterTemplate.objects.get(name="Monthly digest")
    words = json.dumps([template.subject, template.preheader, template.body.get_prep_value()]).lower()
    assert "week" not in words and "first issue" not in words and "month" in words


def test_welcome_issue_web_version_greets_the_sample_reader_and_shows_the_banner(client, demo):
    response = client.get(NewsletterPage.objects.get(title="Welcome issue").url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "first_name" not in html
    assert 'alt="A drawing of green hills under a yellow sun and a blue sky"' in html


def test_demo_activity_makes_a_sample_report_from_real_events_once(admin_login, demo):
    from wagtail_newsletter.send.models import Campaign
    from wagtail_newsletter.track import stats
    from wagtail_newsletter.track.models import Event, EventKind

    call_command("demo_activity", stdout=open(os.devnull, "w"))
    campaign = Campaign.objects.get(name="Welcome issue (sample report)")
    report = stats.campaign_report(campaign)
    assert report.recipients == 300 and report.sent + report.failed == 300
    # Every kind of figure has something to show, and it is what the events say (two hard bounces came back by mail
    # after the relay took the message: tests/test_example_site_returned_mail.py).
    assert report.hard_bounces == report.failed + 2 and report.failed > 0
    assert report.unsubscribes > 0 and report.complaints > 0
    assert 0 < report.unique_opens <= report.opens and report.machine_opens > 0 and report.machine_clicks > 0
    assert report.opens + report.machine_opens == Event.objects.filter(campaign=campaign, kind=EventKind.OPEN).count()
    page = admin_login.get(f"/admin/newsletter/campaigns/{campaign.pk}/report/").content.decode()
    assert 'id="report-timeline"' in page and "Welcome issue (sample report)" in page
    events = Event.objects.count()
    call_command("demo_activity", stdout=open(os.devnull, "w"))  # a second run changes nothing
    assert Event.objects.count() == events and Campaign.objects.filter(name__endswith="(sample report)").count() == 1


def test_setup_demo_replaces_wagtails_welcome_page_as_site_root(demo):
    site = Site.objects.get(is_default_site=True)
    assert isinstance(site.root_page.specific, HomePage)
    assert not Page.objects.filter(title__startswith="Welcome to your new Wagtail site").exists()


def test_setup_demo_form_joins_weekly_news_and_asks_first_name_and_city(demo):
    form = SubscriptionForm.objects.get(name="Home page form")
    assert [group.name for group in form.groups.all()] == ["Weekly news"]
    assert [field.key for field in form.form_fields.all()] == ["first_name", "city"]
    assert form.notify_email


def test_setup_demo_admin_can_log_in_with_the_printed_password(client, demo):
    assert client.login(username="admin", password="admin")


def test_home_page_renders_the_subscription_form(client, demo):
    form = SubscriptionForm.objects.get(name="Home page form")
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("wagtail_newsletter:subscribe", args=[form.pk]) in html
    assert 'type="email"' in html
    assert 'name="city"' in html


def test_smtp_catcher_stores_each_mail_as_an_eml_file(catcher, outbox):
    send_confirmation_like_mail()
    files = list(outbox.iterdir())
    assert len(files) == 1 and files[0].suffix == ".eml"
    assert b"Subject: Please confirm your subscription" in files[0].read_bytes()


def test_stored_message_leaves_no_temporary_file(outbox):
    store_message(b"Subject: hi\r\n\r\nbody\r\n", outbox)
    assert [path.name.startswith(".") for path in outbox.iterdir()] == [False]


def test_outbox_reads_a_date_without_zone_as_utc_and_lists_every_date_in_the_sites_zone(outbox, settings):
    settings.TIME_ZONE = "Europe/Paris"
    store_message(b"Date: Sun, 06 Dec 2026 05:00:00 -0000\r\nSubject: utc\r\n\r\nx\r\n", outbox)
    store_message(b"Date: Sun, 06 Dec 2026 06:01:00 +0100\r\nSubject: local\r\n\r\nx\r\n", outbox)
    dates = {message.subject: message.received_at for message in list_messages(outbox)}
    assert dates["local"] - dates["utc"] == datetime.timedelta(minutes=1)
    assert {str(date.tzinfo) for date in dates.values()} == {"Europe/Paris"}


def test_outbox_lists_received_mails_newest_first(admin_login, catcher):
    send_confirmation_like_mail("First mail")
    send_confirmation_like_mail("Second mail")
    response = admin_login.get(reverse("outbox:index"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Second mail") < html.index("First mail")
    assert "ada@example.com" in html


def test_outbox_message_shows_html_in_a_sandboxed_iframe_and_its_links(admin_login, catcher):
    send_confirmation_like_mail()
    name = list_messages()[0].name
    response = admin_login.get(reverse("outbox:message", args=[name]))
    html = response.content.decode()
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in html and "srcdoc=" in html  # no scripts
    assert f'<a href="{CONFIRM_URL}" target="_blank"' in html
    assert "Confirm my subscription" in html


def test_outbox_message_opens_its_html_part_full_size_alone(admin_login, catcher):
    send_confirmation_like_mail()
    name = list_messages()[0].name
    page = BeautifulSoup(admin_login.get(reverse("outbox:message", args=[name])).content, "html.parser")
    link = page.select_one("a[data-open-full-size]")
    assert link.get_text(strip=True) == "Open full size" and link["target"] == "_blank"
    response = admin_login.get(link["href"])
    assert response.content.decode() == read_message(name).html  # the part alone, no admin around it
    assert response["Content-Security-Policy"] == "sandbox allow-popups allow-popups-to-escape-sandbox"
    assert Client().get(link["href"]).status_code == 302  # the admin login is needed, as for the rest of the outbox


def test_outbox_message_shows_the_unsubscribe_and_dkim_headers_of_a_campaign_mail(
    admin_login, catcher, django_capture_on_commit_callbacks
):
    admin = get_user_model().objects.get(username="admin")
    campaign = campaigns.create_campaign(NewsletterPage.objects.get(title="Welcome issue"), admin)
    with django_capture_on_commit_callbacks(execute=True):  # the workers' kick; tasks run in this process
        campaigns.send_now(campaign, admin)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT, campaign.status_note
    ada = next(summary for summary in list_messages() if "ada@example.com" in summary.recipients)
    html = admin_login.get(reverse("outbox:message", args=[ada.name])).content.decode()
    unsubscribe = html.split("data-outbox-unsubscribe>", 1)[1].split("</dd>", 1)[0]
    assert "&lt;http://testserver/newsletter/u/" in unsubscribe and "&lt;mailto:unsubscribe+" in unsubscribe
    assert unsubscribe.endswith("(one-click)")
    assert "signed for example.org (selector newsletter)" in html
    assert "DKIM-Signature</th>" in html  # and the full header list still has it


def test_outbox_message_without_those_headers_shows_no_empty_rows(admin_login, catcher):
    send_confirmation_like_mail()
    html = admin_login.get(reverse("outbox:message", args=[list_messages()[0].name])).content.decode()
    assert "data-outbox-unsubscribe" not in html and "data-outbox-dkim" not in html


def test_outbox_needs_an_admin_login(client, demo, catcher):
    send_confirmation_like_mail()
    name = list_messages()[0].name
    for url in (reverse("outbox:index"), reverse("outbox:message", args=[name])):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_outbox_is_closed_to_users_without_admin_access(client, demo, outbox):
    get_user_model().objects.create_user("visitor", password="visitor")
    client.login(username="visitor", password="visitor")
    response = client.get(reverse("outbox:index"))
    assert response.status_code in (302, 403)
    assert "Outbox" not in response.content.decode()


def test_outbox_message_outside_the_outbox_is_not_found(admin_login, outbox):
    (outbox.parent / "secret.eml").write_bytes(b"Subject: secret\r\n\r\n")
    response = admin_login.get(reverse("outbox:message", args=["..%2Fsecret.eml"]))
    assert response.status_code == 404


def test_clear_outbox_deletes_every_mail_on_post(admin_login, catcher, outbox):
    send_confirmation_like_mail()
    response = admin_login.post(reverse("outbox:clear"))
    assert response.status_code == 302
    assert list_messages() == []


def test_clear_outbox_refuses_get(admin_login, catcher, outbox):
    send_confirmation_like_mail()
    assert admin_login.get(reverse("outbox:clear")).status_code == 405
    assert len(list_messages()) == 1


def wait_for_port(port, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


@pytest.mark.integration
def test_smtp_catcher_command_stores_mail_and_stops_on_sigterm(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "example_site")]),
        "EXAMPLE_VAR_DIR": str(tmp_path),
    }
    process = subprocess.Popen(
        [sys.executable, "example_site/manage.py", "smtp_catcher", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        assert wait_for_port(port), process.stdout.read1().decode(errors="replace") if process.poll() else ""
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "news@example.org", "ada@example.com", "Hello"
        message.set_content("Confirm here")
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.send_message(message)
        assert [summary.subject for summary in list_messages(tmp_path / "outbox")] == ["Hello"]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    assert code == 0
