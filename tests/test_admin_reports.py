"""A campaign's report in the admin (admin/reports/views.py): the figures equal the events they were aggregated from,
rates with their healthy ranges, the timeline chart (hour and day steps), the link table, the click map (badges with
the right shares, no live link, no script), the live JSON, permissions, the dashboard panel and the Reports listing;
and the page's number of queries does not grow with links or events."""

import csv
import io
import re
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from wagtail_newsletter.admin.reports import charts
from wagtail_newsletter.send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from wagtail_newsletter.track import stats
from wagtail_newsletter.track.models import Agent, Event, EventKind

from .campaign_admin_fixtures import (  # noqa: F401 (fixtures)
    assert_refused,
    audience_fixture,
    campaigns_url,
    editor_client_fixture,
    sender_client_fixture,
    sender_fixture,
    sending_campaign,
)
from .compose_editor_fixtures import make_newsletter
from .report_fixtures import LINKS, fold, hit, sample_activity, sent_campaign

pytestmark = pytest.mark.django_db


def activity(campaign):
    """``report_fixtures.sample_activity`` for the audience's four people (ann, bob, cid, dan, by address)."""
    sample_activity(campaign, *Delivery.objects.filter(campaign=campaign).order_by("subscriber__email"))


def figures(html):
    """{data-stat: value} of the report's cards."""
    soup = BeautifulSoup(html, "html.parser")
    return {
        card["data-stat"]: int(card.select_one("[data-stat-value]").get_text(strip=True).replace(",", ""))
        for card in soup.select("[data-stat]")
    }


# The report page


def test_report_figures_equal_the_events(sender_client, archive, admin_user, audience):
    campaign = sent_campaign(archive, admin_user)
    activity(campaign)
    response = sender_client.get(campaigns_url("report", campaign.pk))
    assert response.status_code == 200
    shown = figures(response.content.decode())
    human = Event.objects.filter(campaign=campaign, agent__in=(Agent.BROWSER, Agent.MAIL_PROXY))
    assert shown["opens"] == human.filter(kind=EventKind.OPEN).count() == 3
    assert shown["unique_opens"] == human.filter(kind=EventKind.OPEN).values("delivery").distinct().count() == 2
    assert shown["clicks"] == human.filter(kind=EventKind.CLICK).count() == 4
    assert shown["unique_clicks"] == human.filter(kind=EventKind.CLICK).values("delivery").distinct().count() == 2
    assert shown["machine_opens"] == 2 and shown["machine_openers"] == 1 and shown["machine_clicks"] == 1
    assert (shown["sent"], shown["bounces"], shown["delivered"]) == (4, 1, 3)
    assert (shown["unsubscribes"], shown["complaints"]) == (1, 1)
    report = stats.campaign_report(campaign)
    for key in ("opens", "unique_opens", "clicks", "unique_clicks", "unsubscribes", "complaints", "delivered"):
        assert shown[key] == getattr(report, key), key


def test_an_open_inferred_from_a_click_counts_on_both_open_cards(sender_client, archive, admin_user, audience):
    campaign = sent_campaign(archive, admin_user)
    hit(campaign, Delivery.objects.filter(campaign=campaign).first(), EventKind.CLICK, 10, link=0)  # images blocked
    fold()
    html = sender_client.get(campaigns_url("report", campaign.pk)).content.decode()
    shown = figures(html)
    assert (shown["opens"], shown["unique_opens"], shown["clicks"]) == (1, 1, 1)
    card = BeautifulSoup(html, "html.parser").select_one('[data-stat="opens"] [data-stat-detail]').get_text()
    assert "clicked without a recorded open counts as one open" in card


def test_rates_show_values_healthy_ranges_and_verdicts(sender_client, archive, admin_user, audience):
    campaign = sent_campaign(archive, admin_user)
    activity(campaign)
    soup = BeautifulSoup(sender_client.get(campaigns_url("report", campaign.pk)).content, "html.parser")
    rows = {row["data-rate"]: row for row in soup.select("[data-rate]")}
    report = stats.campaign_report(campaign)
    assert set(rows) == {rate.key for rate in report.rates} and len(rows) == 6
    for rate in report.rates:
        row = rows[rate.key]
        assert rate.label in row.get_text()
        assert row.select_one("[data-rate-healthy]").get_text(strip=True) == (rate.healthy or "—")
        assert row["data-verdict"] == (rate.verdict or "none")
        if rate.value is not None:
            assert row.select_one("[data-rate-value]").get_text(strip=True) == f"{100 * rate.value:.1f}\xa0%"
    # 1 complaint out of 3 delivered is far above the mailbox providers' 0.3 % limit.
    complaint = next(rate for rate in report.rates if "complaint" in rate.key)
    assert rows[complaint.key]["data-verdict"] == "bad"
    assert "Needs attention" in rows[complaint.key].get_text()


def test_links_table_lists_every_link_with_its_share(sender_client, archive, admin_user, audience):
    campaign = sent_campaign(archive, admin_user)
    activity(campaign)
    soup = BeautifulSoup(sender_client.get(campaigns_url("report", campaign.pk)).content, "html.parser")
    rows = soup.select("[data-report-links] tr[data-link-index]")
    assert [row["data-link-index"] for row in rows] == ["0", "1", "2"]
    columns = ("[data-link-clicks]", "[data-link-unique]", "[data-link-machine]", "[data-link-share]")
    cells = [tuple(row.select_one(column).get_text(strip=True) for column in columns) for row in rows]
    assert cells == [("3", "2", "0", "75.0\xa0%"), ("1", "1", "0", "25.0\xa0%"), ("0", "0", "1", "0.0\xa0%")]
    assert LINKS[1] in rows[1].get_text()


def test_timeline_chart_hour_by_hour_then_day_by_day(sender_client, archive, admin_user, audience):
    recent = sent_campaign(archive, admin_user, started_hours_ago=5, name="Recent")
    activity(recent)
    soup = BeautifulSoup(sender_client.get(campaigns_url("report", recent.pk)).content, "html.parser")
    svg = soup.select_one("#report-timeline svg")
    assert svg["data-step"] == "hour" and svg["role"] == "img"
    assert svg.title.get_text() == "Opens and clicks per hour" and svg.desc is not None
    assert "Time (hour by hour)" in svg.get_text()
    points = int(svg["data-points"])
    assert points >= 5 and len(svg.select('[data-series="opens"] circle')) == points
    table = soup.select("[data-timeline-table] tbody tr")
    assert len(table) == points
    assert sum(int(row.select("td")[0].get_text()) for row in table) == 3  # human opens only
    assert sum(int(row.select("td")[1].get_text()) for row in table) == 4

    older = sent_campaign(archive, admin_user, started_hours_ago=24 * 6, name="Older")
    late_reader = Delivery.objects.filter(campaign=older).order_by("subscriber__email").last()
    hit(older, late_reader, EventKind.OPEN, 60 * 24 * 5)  # five days later: more than 48 hours of timeline
    activity(older)
    soup = BeautifulSoup(sender_client.get(campaigns_url("report", older.pk)).content, "html.parser")
    svg = soup.select_one("#report-timeline svg")
    assert svg["data-step"] == "day" and "Time (day by day)" in svg.get_text()
    assert 6 <= int(svg["data-points"]) <= 8


def test_chart_scales():
    assert [charts.nice_ceiling(n) for n in (0, 1, 3, 7, 11, 24, 26, 180, 999)] == [1, 1, 5, 10, 20, 25, 50, 200, 1000]
    assert charts.y_ticks(25) == [0, 5, 10, 15, 20, 25] and charts.y_ticks(2) == [0, 1, 2]


def test_a_draft_has_no_report_yet(sender_client, archive, admin_user, audience):
    from wagtail_newsletter.send import campaigns

    draft = campaigns.create_campaign(make_newsletter(archive), admin_user)
    page = sender_client.get(campaigns_url("report", draft.pk)).content.decode()
    assert "data-report-empty" in page and "report-timeline" not in page


# Click map


def test_click_map_has_badges_with_shares_and_nothing_live(sender_client, archive, admin_user, audience):
    campaign = sent_campaign(archive, admin_user)
    activity(campaign)
    response = sender_client.get(campaigns_url("click_map", campaign.pk))
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp and "script-src" not in csp
    assert "frame-ancestors 'self'" in csp and response["X-Frame-Options"] == "SAMEORIGIN"
    soup = BeautifulSoup(response.content, "html.parser")
    badges = {badge["data-link-index"]: badge for badge in soup.select("[data-link-share]")}
    assert set(badges) == {"0", "1", "2"}
    assert [float(badges[i]["data-link-share"]) for i in "012"] == [0.75, 0.25, 0.0]
    assert badges["0"].get_text() == "75.0\xa0%"
    # Each badge sits right after its own link.
    for index in "012":
        anchor = soup.select_one(f'a[data-link-index="{index}"]')
        assert anchor.get_text() == f"Link {index}" and anchor.find_next_sibling("span") is badges[index]
    assert not soup.select("[href]") and not soup.select("script, form, iframe, base, meta")
    assert not [el for el in soup.find_all(True) if any(name.startswith("on") for name in el.attrs)]


def test_click_map_is_framed_sandboxed_on_the_report(sender_client, archive, admin_user, audience):
    campaign = sent_campaign(archive, admin_user)
    page = sender_client.get(campaigns_url("report", campaign.pk)).content.decode()
    frame = BeautifulSoup(page, "html.parser").select_one("iframe#click-map")
    assert frame["src"] == campaigns_url("click_map", campaign.pk)
    assert re.search(r'<iframe id="click-map"[^>]* sandbox=""', page)  # sandboxed, nothing allowed


def test_click_map_opens_full_size_alone_from_the_report(sender_client, archive, admin_user, audience):
    campaign = sent_campaign(archive, admin_user)
    page = BeautifulSoup(sender_client.get(campaigns_url("report", campaign.pk)).content, "html.parser")
    link = page.select_one("#report-click-map a[data-open-full-size]")
    assert link.get_text(strip=True) == "Open full size" and link["target"] == "_blank"
    assert link["href"] == page.select_one("iframe#click-map")["src"] == campaigns_url("click_map", campaign.pk)
    alone = sender_client.get(link["href"])
    assert "sandbox" in alone["Content-Security-Policy"] and "wagtailadmin" not in alone.content.decode()


def test_click_map_drops_active_content_of_a_newsletter(sender_client, archive, admin_user, audience):
    campaign = sent_campaign(archive, admin_user)
    compiled = dict(campaign.compiled)
    compiled["html"] = [
        '<html><head><meta http-equiv="refresh" content="0;url=https://evil.example/"><base href="https://evil.example/">'
        '</head><body onload="alert(1)"><script>alert(2)</script><a href="javascript:alert(3)">x</a>'
        '<img src="https://example.org/a.png" onerror="alert(4)"></body></html>'
    ]
    Campaign.objects.filter(pk=campaign.pk).update(compiled=compiled, created_at=campaign.created_at + timedelta(1))
    campaign.refresh_from_db()
    html = sender_client.get(campaigns_url("click_map", campaign.pk)).content.decode()
    assert "alert" not in html and "evil.example" not in html
    assert '<img src="https://example.org/a.png"/>' in html


# Live refresh


def test_live_json_while_sending(sender_client, archive, admin_user, audience):
    campaign = sent_campaign(archive, admin_user)
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING, finished_at=None)
    page = sender_client.get(campaigns_url("report", campaign.pk)).content.decode()
    assert "campaign_report.js" in page and 'data-live="true"' in page
    ann = Delivery.objects.filter(campaign=campaign).order_by("subscriber__email").first()
    Event.objects.create(campaign=campaign, delivery=ann, kind=EventKind.OPEN, at=timezone.now() - timedelta(minutes=1))
    response = sender_client.get(campaigns_url("report_live", campaign.pk))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    data = response.json()
    assert data["status"] == "sending" and data["live"] is True
    assert data["stats"]["unique_opens"] == 1 and data["stats"]["sent"] == 4  # refresh() folded the new event
    assert set(data["html"]) == {"summary", "timeline", "links"}
    assert figures(data["html"]["summary"])["unique_opens"] == 1
    assert "<svg" in data["html"]["timeline"] and [link["index"] for link in data["links"]] == [0, 1, 2]


def test_no_polling_once_finished(sender_client, archive, admin_user, audience):
    campaign = sent_campaign(archive, admin_user)
    page = sender_client.get(campaigns_url("report", campaign.pk)).content.decode()
    assert "campaign_report.js" not in page and 'data-live="false"' in page
    assert sender_client.get(campaigns_url("report_live", campaign.pk)).json()["live"] is False


# Permissions


def test_report_views_need_a_campaign_permission(editor_client, archive, admin_user, audience):
    campaign = sent_campaign(archive, admin_user)
    for name in ("report", "report_live", "click_map"):
        assert_refused(editor_client, "get", campaigns_url(name, campaign.pk))
    assert_refused(editor_client, "get", reverse("newsletter_reports:index"))


def test_unknown_campaign_is_404(sender_client, audience):
    for name in ("report", "report_live", "click_map"):
        assert sender_client.get(campaigns_url(name, 999999)).status_code == 404


# Links to the report, the dashboard panel and the Reports listing


def test_campaign_page_and_listing_link_to_the_report(sender_client, archive, admin_user, audience):
    campaign = sent_campaign(archive, admin_user)
    report_url = campaigns_url("report", campaign.pk)
    assert report_url in sender_client.get(campaigns_url("detail", campaign.pk)).content.decode()
    assert report_url in sender_client.get(campaigns_url("index")).content.decode()


def test_dashboard_panel_lists_recent_campaigns_with_rates(sender_client, archive, admin_user, audience):
    campaign = sent_campaign(archive, admin_user)
    activity(campaign)
    soup = BeautifulSoup(sender_client.get(reverse("wagtailadmin_home")).content, "html.parser")
    panel = soup.select_one("#newsletter-recent-campaigns-section")
    row = panel.select_one(f'tr[data-campaign="{campaign.pk}"]')
    assert row.select_one("a")["href"] == campaigns_url("report", campaign.pk)
    report = stats.campaign_report(campaign)
    rates = {rate.key: rate for rate in report.rates}
    for cell in row.select("[data-rate]"):
        assert cell.get_text(strip=True) == f"{100 * rates[cell['data-rate']].value:.1f}\xa0%"
    assert len(row.select("[data-rate]")) == 4


def test_dashboard_panel_hidden_without_campaign_permissions(editor_client, archive, admin_user, audience):
    sent_campaign(archive, admin_user)
    assert "newsletter-recent-campaigns" not in editor_client.get(reverse("wagtailadmin_home")).content.decode()


def test_reports_listing_sorts_by_rate_and_exports(sender_client, archive, admin_user, audience):
    busy = sent_campaign(archive, admin_user, name="Busy")
    activity(busy)
    quiet = sent_campaign(archive, admin_user, name="Quiet")
    index = reverse("newsletter_reports:index")
    page = sender_client.get(index).content.decode()
    assert campaigns_url("report", busy.pk) in page and campaigns_url("report", quiet.pk) in page
    assert "66.7\xa0%" in page  # busy: 2 unique opens of 3 delivered
    names = [a.get_text(strip=True) for a in BeautifulSoup(
        sender_client.get(index + "?ordering=-open_rate").content, "html.parser").select("td.title a")]  # fmt: skip
    assert names.index("Busy") < names.index("Quiet")
    export = sender_client.get(index + "?export=csv")
    rows = list(csv.DictReader(io.StringIO(export.getvalue().decode())))
    busy_row = next(row for row in rows if row["Campaign"] == "Busy")
    assert float(busy_row["Open rate"]) == pytest.approx(2 / 3) and busy_row["Sent"] == "4"


def test_reports_listing_counts_refused_messages_as_bounced(sender_client, archive, admin_user, audience):
    """The listing's rates follow track.stats: a message the relay refused went out and bounced, once."""
    campaign = sent_campaign(archive, admin_user, name="Refused")
    refused = Delivery.objects.filter(campaign=campaign).first()
    Delivery.objects.filter(pk=refused.pk).update(status=DeliveryStatus.FAILED)
    hit(campaign, refused, EventKind.HARD_BOUNCE, 1, detail="550 5.1.1 no such user")
    fold()
    export = sender_client.get(reverse("newsletter_reports:index") + "?export=csv")
    (row,) = [row for row in csv.DictReader(io.StringIO(export.getvalue().decode())) if row["Campaign"] == "Refused"]
    assert float(row["Bounce rate"]) == pytest.approx(1 / 4)
    assert stats.campaign_report(campaign).rates[4].value == pytest.approx(1 / 4)


# Bounded queries


def test_report_queries_do_not_grow_with_links_or_events(sender_client, archive, admin_user, audience):
    small = sent_campaign(archive, admin_user, urls=LINKS[:1], name="Small")
    hit(small, Delivery.objects.filter(campaign=small).first(), EventKind.OPEN, 5)
    fold()
    urls = [f"https://example.org/page-{n}/" for n in range(25)]
    large = sent_campaign(archive, admin_user, urls=urls, name="Large")
    deliveries = list(Delivery.objects.filter(campaign=large))
    Event.objects.bulk_create(
        Event(campaign=large, delivery=d, kind=kind, link=n if kind == EventKind.CLICK else None,
              at=large.started_at + timedelta(minutes=7 * n + i))
        for i, d in enumerate(deliveries) for n in range(25) for kind in (EventKind.OPEN, EventKind.CLICK)
    )  # fmt: skip
    fold()

    def count(campaign, name):
        sender_client.get(campaigns_url(name, campaign.pk))  # warm caches (compiled email, permissions)
        with CaptureQueriesContext(connection) as queries:
            assert sender_client.get(campaigns_url(name, campaign.pk)).status_code == 200
        return len(queries)

    for name in ("report", "report_live", "click_map"):
        assert count(large, name) == count(small, name), name


def test_report_offers_the_people_listings_and_follow_ups(sender_client, archive, admin_user, audience):
    from wagtail_newsletter.admin.reports.exports import export_links, follow_up_links

    campaign = sent_campaign(archive, admin_user)
    soup = BeautifulSoup(sender_client.get(campaigns_url("report", campaign.pk)).content, "html.parser")
    exports = [a["href"] for a in soup.select("[data-report-exports] a[href]")]
    follow_ups = [a["href"] for a in soup.select("[data-report-follow-ups] a[href]")]
    assert exports == [link for _label, link in export_links(campaign)] and len(exports) == 5
    assert follow_ups == [link for _label, link in follow_up_links(campaign)] and follow_ups
