"""Campaign lifecycle rules: workflow approval, other email backends, the editor's alert, per-recipient links in the
body, the periodic dispatcher, and bad input to the lifecycle functions."""

import re

import pytest
from django.contrib.auth.models import Group as UserGroup
from django.contrib.auth.models import Permission
from django.core import mail
from django.utils import timezone
from wagtail.models import GroupApprovalTask, Workflow, WorkflowPage, WorkflowTask

from wagtail_newsletter.audience.models import Group, Status
from wagtail_newsletter.send import campaigns, claims, dispatch
from wagtail_newsletter.send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from wagtail_newsletter.send.planner import plan_deliveries
from wagtail_newsletter.tokens import LinkSigner

from .compose_editor_fixtures import make_newsletter
from .test_send_engine import hold_kicks, make_subscribers  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def quick(settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "SEND_BATCH_SIZE": 5, "SEND_CONCURRENCY": 1}


def new_campaign(page, user=None):
    campaign = campaigns.create_campaign(page, user)
    campaigns.set_audience(campaign, True)
    return campaign


def test_required_approval_needs_the_workflow_to_approve_that_revision(archive, settings, django_user_model):  # noqa: F811
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "REQUIRE_APPROVAL": True}
    make_subscribers(2)
    moderators, _created = UserGroup.objects.get_or_create(name="Newsletter moderators")
    moderator = django_user_model.objects.create_superuser("mod", "mod@example.org", "pw")
    moderator.groups.add(moderators)
    task = GroupApprovalTask.objects.create(name="Approve newsletter")
    task.groups.set([moderators])
    workflow = Workflow.objects.create(name="Newsletter approval")
    WorkflowTask.objects.create(workflow=workflow, task=task, sort_order=0)
    WorkflowPage.objects.create(workflow=workflow, page=archive)
    newsletter = make_newsletter(archive)
    campaign = new_campaign(newsletter)
    problems = campaigns.check_can_send(campaign)
    assert any("approved" in str(problem) for problem in problems)
    with pytest.raises(campaigns.CampaignError):
        campaigns.send_now(campaign)

    revision = newsletter.save_revision(user=moderator)
    state = workflow.start(newsletter, moderator)
    state.current_task_state.approve(user=moderator)
    campaigns.refresh_revision(campaign)
    assert campaign.revision_id == Campaign.objects.get(pk=campaign.pk).revision_id
    state.refresh_from_db()
    assert state.status == state.STATUS_APPROVED
    assert campaigns.is_approved(campaign), (revision.pk, campaign.revision_id)
    assert not any("approved" in str(problem) for problem in campaigns.check_can_send(campaign))


def test_any_django_email_backend_gets_the_same_headers(archive, settings, quick):  # noqa: F811
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_subscribers(3)
    campaigns.send_now(new_campaign(make_newsletter(archive)))
    assert len(mail.outbox) == 3
    for message in mail.outbox:
        headers = message.extra_headers
        assert re.fullmatch(r"<[0-9a-z]+\.[0-9a-z]+@example\.org>", headers["Message-ID"])
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert headers["List-Unsubscribe"].startswith("<http://testserver/newsletter/u/")
        assert headers["List-Id"] and headers["Feedback-ID"]
        assert "/newsletter/u/" in message.alternatives[0][0]


def test_body_links_are_the_recipients_own(archive, smtp_server, quick):  # noqa: F811
    subscribers = make_subscribers(2)
    campaign = campaigns.send_now(new_campaign(make_newsletter(archive)))
    by_email = {s.email: s for s in subscribers}
    for received in smtp_server.messages:
        html = received["message"].get_body(preferencelist=("html",)).get_content()
        delivery = Delivery.objects.get(campaign=campaign, subscriber=by_email[received["to"][0]])
        unsubscribe = re.search(r'href="http://testserver/newsletter/u/([^"]+)"', html).group(1)
        web = re.search(r'href="http://testserver/newsletter/w/([^"]+)"', html).group(1)
        click = re.search(r'href="http://testserver/newsletter/c/([^"]+)"', html).group(1)
        pixel = re.search(r'<img src="http://testserver/newsletter/o/([^"]+)" width="1" height="1" alt=""', html)
        assert LinkSigner("unsubscribe").read(unsubscribe) == (delivery.pk, None)
        assert LinkSigner("web").read(web) == (delivery.pk, None)
        delivery_id, _index, campaign_id = LinkSigner("click").read_all(click)
        assert (delivery_id, campaign_id) == (delivery.pk, campaign.pk)
        assert LinkSigner("open").read_all(pixel.group(1)) == (delivery.pk, campaign.pk)
        assert re.search(r"/newsletter/o/[^>]+/>\s*</body>", html)  # the pixel comes last in the body
        assert "https://example.org/spring/" not in html  # tracked: the click goes through our redirect


@pytest.mark.parametrize("clicks, opens", [(False, False), (False, True), (True, False)])
def test_tracking_switched_off_per_campaign(archive, smtp_server, quick, clicks, opens):  # noqa: F811
    make_subscribers(1)
    campaign = new_campaign(make_newsletter(archive))
    Campaign.objects.filter(pk=campaign.pk).update(tracking_enabled=clicks, track_opens=opens)
    campaigns.send_now(Campaign.objects.get(pk=campaign.pk))
    [received] = smtp_server.messages
    html = received["message"].get_body(preferencelist=("html",)).get_content()
    text = received["message"].get_body(preferencelist=("plain",)).get_content()
    assert ("/newsletter/c/" in html) is clicks and ("/newsletter/c/" in text) is clicks
    assert ("https://example.org/spring/" in html) is not clicks  # not tracked: the final URL itself
    assert ("/newsletter/o/" in html) is opens
    assert "/newsletter/o/" not in text  # never a pixel in the text part
    assert "/newsletter/u/" in html  # unsubscribing works whatever the tracking


def test_policy_pause_alerts_the_editor(archive, smtp_server, quick, django_user_model):  # noqa: F811
    editor = django_user_model.objects.create_superuser("ed", "editor@example.org", "pw")
    make_subscribers(2)

    blocked = "554 5.7.1 Service unavailable; client host blocked"
    smtp_server.rcpt_answer = lambda address: None if address == "editor@example.org" else blocked
    campaign = campaigns.send_now(new_campaign(make_newsletter(archive), editor), editor)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.pause_cause) == (CampaignStatus.PAUSED, "relay")
    assert [m["to"] for m in smtp_server.messages] == [["editor@example.org"]]
    alert = smtp_server.messages[0]["message"]
    assert "paused" in alert["Subject"] and "5.7.1" in alert.get_content()


def test_dispatcher_starts_due_campaigns_and_rekicks_lost_ones(archive, monkeypatch):  # noqa: F811
    make_subscribers(3)
    kicks = hold_kicks(monkeypatch)
    newsletter = make_newsletter(archive)
    scheduled = new_campaign(newsletter)
    campaigns.schedule(scheduled, timezone.now() + timezone.timedelta(hours=1))
    lost = campaigns.send_now(new_campaign(newsletter))
    kicks.clear()
    # A worker claimed a batch and died: its lease is still running, so nobody is kicked yet.
    claims.claim(lost.pk, 2, lease_seconds=30)
    assert dispatch.dispatch() == {"started": 0, "kicked": 0}
    later = timezone.now() + timezone.timedelta(hours=2)
    result = dispatch.dispatch(now=later)
    assert result == {"started": 1, "kicked": 2}  # the scheduled campaign started; the lost one is kicked again
    assert set(kicks) == {scheduled.pk, lost.pk}
    assert Campaign.objects.get(pk=scheduled.pk).status == CampaignStatus.SENDING


def test_lifecycle_refuses_what_makes_no_sense(archive, smtp_server, quick, django_user_model):  # noqa: F811
    make_subscribers(2, status=Status.UNSUBSCRIBED)
    newsletter = make_newsletter(archive)
    campaign = new_campaign(newsletter)
    with pytest.raises(campaigns.CampaignError, match="No subscriber"):
        campaigns.send_now(campaign)
    with pytest.raises(campaigns.CampaignError, match="group"):
        campaigns.set_audience(campaign, False, [], [])
    with pytest.raises(campaigns.CampaignError, match="future"):
        campaigns.schedule(campaign, timezone.now() - timezone.timedelta(minutes=1))
    with pytest.raises(campaigns.CampaignError):
        campaigns.pause(campaign)
    with pytest.raises(campaigns.CampaignError):
        campaigns.resume(campaign)
    editor = django_user_model.objects.create_user("plain", "plain@example.org", "pw")
    assert any("permission" in str(p) for p in campaigns.check_can_send(campaign, editor))
    editor.user_permissions.add(Permission.objects.get(codename="send_campaign"))
    editor = django_user_model.objects.get(pk=editor.pk)
    assert not any("permission" in str(p) for p in campaigns.check_can_send(campaign, editor))
    group = Group.objects.create(name="Empty")
    campaigns.set_audience(campaign, False, [group.pk])
    assert campaigns.count_recipients_of(campaign) == 0
    assert plan_deliveries(campaign) == 0
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT
    assert not Delivery.objects.filter(status=DeliveryStatus.QUEUED).exists()


def test_cancel_skips_rows_being_sent_by_a_live_or_dead_worker(archive, smtp_server, monkeypatch):  # noqa: F811
    from wagtail_newsletter.send import worker

    make_subscribers(6)
    hold_kicks(monkeypatch)
    campaign = campaigns.send_now(new_campaign(make_newsletter(archive)))
    _token, live_rows = claims.claim(campaign.pk, 2, lease_seconds=30)  # a worker about to send these…
    claims.claim(campaign.pk, 2, lease_seconds=30)  # …and one that died holding these
    campaigns.cancel(campaign)
    assert campaigns.delivery_counts(campaign)[DeliveryStatus.SKIPPED] == 2
    monkeypatch.setattr(worker, "STATE_CHECK_SECONDS", 0)  # the live worker looks at the campaign before sending
    outcome = worker.CampaignSender(Campaign.objects.get(pk=campaign.pk)).send_batch(live_rows, 0)
    assert outcome.sent == 0 and smtp_server.messages == []
    assert campaigns.delivery_counts(campaign)[DeliveryStatus.SKIPPED] == 4
    dispatch.dispatch(now=timezone.now() + timezone.timedelta(seconds=31))  # the dead worker's lease ran out
    counts = campaigns.delivery_counts(campaign)
    assert counts[DeliveryStatus.SKIPPED] == 6 and counts[DeliveryStatus.CLAIMED] == 0
