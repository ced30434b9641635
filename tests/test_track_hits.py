"""Tracking hits: the open pixel and the click redirect append one Event each (one INSERT … SELECT), bad tokens get
404 and write nothing, the pixel's place in the mail. Unsubscribe, bounce and complaint events and erasure:
tests/test_track_events.py."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from wagtail_newsletter.compose.personalise import InertLinks, personalise
from wagtail_newsletter.send.links import CampaignLinks, campaign_compiled, forget_compiled
from wagtail_newsletter.send.test_send import send_test_task
from wagtail_newsletter.tokens import LinkSigner
from wagtail_newsletter.track.events import record_hit
from wagtail_newsletter.track.models import Agent, Event, EventKind
from wagtail_newsletter.track.views import PIXEL_GIF

from .compose_editor_fixtures import make_newsletter
from .test_send_engine import make_subscribers, sending_settings  # noqa: F401 (fixtures)
from .test_track_unsubscribe import BASE, altered, assert_no_cookie, make_campaign, make_delivery

pytestmark = pytest.mark.django_db

GMAIL = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture(autouse=True)
def fresh_link_tables():
    # Link tables are cached per process by campaign id, and test databases reuse ids.
    forget_compiled()
    yield
    forget_compiled()


@pytest.fixture
def delivery():
    return make_delivery(first_name="Jane")


def open_token(delivery, campaign_id=None):
    return LinkSigner("open").sign(delivery.pk, campaign_id or delivery.campaign_id)


def click_token(delivery, index, campaign_id=None):
    return LinkSigner("click").sign(delivery.pk, index, campaign_id or delivery.campaign_id)


def open_url(token):
    return reverse("wagtail_newsletter:open", args=[token])


def click_url(token):
    return reverse("wagtail_newsletter:click", args=[token])


def events():
    return list(Event.objects.order_by("id").values_list("kind", "delivery_id", "campaign_id", "link", "agent"))


def statements(queries):
    """The SQL a request ran, but PostgreSQL's per-transaction setting and the test transaction's savepoints."""
    skip = ("SET LOCAL", "SAVEPOINT", "RELEASE SAVEPOINT")
    return [query["sql"] for query in queries if not query["sql"].startswith(skip)]


def tokens_gone_bad(good, delivery):
    """Forged, truncated, altered and other-purpose variants of a good token."""
    payload, _, signature = good.rpartition(".")
    return [
        altered(good),
        good[:-1],  # truncated
        good[:-6],
        payload,  # no signature
        payload + "." + "0" * 24,  # forged signature
        "." + signature,
        good + "0",
        good.replace(".", "..", 1),
        LinkSigner("unsubscribe").sign(delivery.pk),
        LinkSigner("web").sign(delivery.pk),
        "x" * 80,
    ]


# --- open pixel ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/", ".gif", ".gif/"])
def test_the_pixel_answers_a_transparent_gif_and_records_one_open(delivery, suffix):
    response = Client().get(
        open_url(open_token(delivery)) + suffix, HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="203.0.113.77"
    )
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert response.content == PIXEL_GIF and len(PIXEL_GIF) == 43 and PIXEL_GIF.startswith(b"GIF89a\x01\x00\x01\x00")
    assert "no-store" in response["Cache-Control"] and "no-cache" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex" and response["Referrer-Policy"] == "no-referrer"
    assert_no_cookie(response)
    assert events() == [(EventKind.OPEN, delivery.pk, delivery.campaign_id, None, Agent.BROWSER)]
    event = Event.objects.get()
    assert event.ip_prefix == "203.0.113.0/24" and event.detail == ""
    assert abs((timezone.now() - event.at).total_seconds()) < 5


def test_pixel_hits_keep_the_agent_class_and_prefix_never_the_address_or_user_agent(delivery):
    client = Client()
    client.get(open_url(open_token(delivery)), HTTP_USER_AGENT=GMAIL, REMOTE_ADDR="66.249.84.1")
    client.get(open_url(open_token(delivery)), HTTP_USER_AGENT="Mozilla/5.0", REMOTE_ADDR="2001:db8:1234:5678::9")
    client.head(open_url(open_token(delivery)), HTTP_USER_AGENT=FIREFOX)
    client.get(open_url(open_token(delivery)))  # no user agent
    rows = list(Event.objects.order_by("id").values_list("agent", "ip_prefix"))
    assert rows == [
        (Agent.MAIL_PROXY, "66.249.84.0/24"),
        (Agent.PRIVACY_PROXY, "2001:db8:1234::/48"),
        (Agent.HEAD, "127.0.0.0/24"),
        (Agent.UNKNOWN, "127.0.0.0/24"),
    ]
    stored = " ".join(str(value) for row in Event.objects.values_list() for value in row)
    assert "66.249.84.1" not in stored and "5678" not in stored and "Firefox" not in stored


def test_bad_pixel_tokens_get_404_and_write_nothing(delivery):
    good = open_token(delivery)
    client = Client()
    for bad in [
        *tokens_gone_bad(good, delivery),
        LinkSigner("open").sign(delivery.pk),  # no campaign
        LinkSigner("open").sign(delivery.pk, 0, delivery.campaign_id),  # three numbers
        click_token(delivery, 0),  # a click token is no open token
    ]:
        response = client.get("/newsletter/o/" + bad)
        assert response.status_code == 404, bad
        assert response.content != PIXEL_GIF
    assert client.post(open_url(good)).status_code == 405
    assert Event.objects.count() == 0


def test_a_signed_token_naming_no_delivery_of_its_campaign_gets_the_image_and_writes_nothing(delivery):
    other = make_campaign(name="Other")
    for token in [
        LinkSigner("open").sign(delivery.pk + 1000, delivery.campaign_id),  # no such delivery
        open_token(delivery, campaign_id=other.pk),  # the delivery is another campaign's
    ]:
        response = Client().get(open_url(token))
        assert response.status_code == 200 and response.content == PIXEL_GIF
    assert Event.objects.count() == 0


def test_a_hit_is_one_insert_and_nothing_else(delivery):
    with CaptureQueriesContext(connection) as queries:
        Client().get(open_url(open_token(delivery)), HTTP_USER_AGENT=FIREFOX)
    writes = statements(queries)
    assert len(writes) == 1 and writes[0].startswith('INSERT INTO "wagtail_newsletter_event"'), writes
    assert "SELECT campaign_id, id" in writes[0] and "WHERE id = " in writes[0]
    Client().get(click_url(click_token(delivery, 0)))  # the link table is cached from now on
    with CaptureQueriesContext(connection) as queries:
        assert Client().get(click_url(click_token(delivery, 1))).status_code == 302
    writes = statements(queries)
    assert len(writes) == 1 and writes[0].startswith('INSERT INTO "wagtail_newsletter_event"'), writes


def test_record_hit_says_whether_it_wrote(delivery):
    assert record_hit(EventKind.OPEN, delivery.pk, delivery.campaign_id) is True
    assert record_hit(EventKind.OPEN, delivery.pk, delivery.campaign_id + 1) is False
    assert record_hit(EventKind.CLICK, delivery.pk + 1, delivery.campaign_id, link=0) is False
    assert events() == [(EventKind.OPEN, delivery.pk, delivery.campaign_id, None, Agent.UNKNOWN)]


# --- click redirect -----------------------------------------------------------------------------------------------


def test_a_click_redirects_and_records_the_link_index(delivery):
    table = campaign_compiled(delivery.campaign).links
    response = Client().get(click_url(click_token(delivery, 1)), HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="198.51.100.9")
    assert response.status_code == 302 and response["Location"] == table[1].final_url
    assert "no-store" in response["Cache-Control"] and response["Referrer-Policy"] == "no-referrer"
    assert_no_cookie(response)
    assert events() == [(EventKind.CLICK, delivery.pk, delivery.campaign_id, 1, Agent.BROWSER)]
    assert Event.objects.get().ip_prefix == "198.51.100.0/24"


def test_head_and_scanner_clicks_redirect_and_are_recorded_as_such(delivery):
    assert Client().head(click_url(click_token(delivery, 0))).status_code == 302
    scanner = "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))"
    assert Client().get(click_url(click_token(delivery, 0)), HTTP_USER_AGENT=scanner).status_code == 302
    assert [row[-1] for row in events()] == [Agent.HEAD, Agent.SCANNER]


def test_bad_click_tokens_get_404_and_write_nothing(delivery):
    links = campaign_compiled(delivery.campaign).links
    other = make_campaign(name="Other")
    other_delivery = make_delivery(campaign=other, email="other@example.org")
    client = Client()
    for bad in [
        *tokens_gone_bad(click_token(delivery, 0), delivery),
        LinkSigner("click").sign(delivery.pk, len(links), delivery.campaign_id),  # past the table
        LinkSigner("click").sign(delivery.pk, 10**6, delivery.campaign_id),
        click_token(delivery, 0, campaign_id=other.pk),  # another campaign's link index for this delivery
        click_token(other_delivery, 0, campaign_id=delivery.campaign_id),  # and the other way round
        LinkSigner("click").sign(delivery.pk, 0, 10**6),  # no such campaign
        LinkSigner("click").sign(delivery.pk + 1000, 0, delivery.campaign_id),  # no such delivery
        LinkSigner("click").sign(delivery.pk, 0),  # the old shape, without the campaign
        open_token(delivery),
    ]:
        response = client.get("/newsletter/c/" + bad)
        assert response.status_code == 404, bad
        assert "Location" not in response.headers
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/newsletter/c/%2F%2Fevil.example",
        "/newsletter/c/%2f%2fevil.example/",
        "/newsletter/c//evil.example",
        "/newsletter/c///evil.example",
        "/newsletter/c/https:evil.example",
        "/newsletter/c/https://evil.example",
        "/newsletter/c/https%3A%2F%2Fevil.example",
        "/newsletter/c/%5C%5Cevil.example",
        "/newsletter/c/evil.example",
        "/newsletter/c/",
    ],
)
def test_open_redirect_attempts_get_404_and_write_nothing(delivery, path):
    response = Client().get(path)
    assert response.status_code == 404 and "Location" not in response.headers
    assert Event.objects.count() == 0


def test_nothing_after_a_good_token_chooses_the_destination(delivery):
    good = click_url(click_token(delivery, 0))
    for tail in ["%2F%2Fevil.example", "/%2F%2Fevil.example", "//evil.example", "/https:evil.example"]:
        response = Client().get(good + tail)
        assert response.status_code == 404 and "Location" not in response.headers, tail
    assert Event.objects.count() == 0
    response = Client().get(good + "?url=https://evil.example&next=//evil.example")
    assert response["Location"] == campaign_compiled(delivery.campaign).links[0].final_url


def test_the_link_table_comes_from_the_per_process_cache_by_campaign_id(delivery):
    forget_compiled()
    with CaptureQueriesContext(connection) as queries:
        Client().get(click_url(click_token(delivery, 0)))
    assert len(statements(queries)) == 2 and "wagtail_newsletter_campaign" in statements(queries)[0]
    with CaptureQueriesContext(connection) as queries:
        Client().get(click_url(click_token(delivery, 1)))
    assert len(statements(queries)) == 1 and statements(queries)[0].startswith("INSERT")


# --- the pixel in the mail ------------------------------------------------------------------------------------------


def links_for(delivery, **switches):
    campaign = delivery.campaign
    for name, value in switches.items():
        setattr(campaign, name, value)
    return CampaignLinks.of(campaign, BASE).for_delivery(delivery.pk)


def test_personalise_puts_the_pixel_last_in_the_body_in_both_forms(delivery):
    compiled = campaign_compiled(delivery.campaign)
    links = links_for(delivery, track_opens=True)
    html = personalise(compiled, {"first_name": "Jane"}, links).html
    pieces = personalise(compiled, {"first_name": "Jane"}, links, pieces=True).html
    assert "".join(pieces) == html
    token = LinkSigner("open").read_all(re.search(r'<img src="[^"]*/newsletter/o/([^"]+)"', html).group(1))
    assert token == (delivery.pk, delivery.campaign_id)
    pixel = (
        f'<img src="{links.open_pixel_url}" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0" /></body>'
    )
    assert pixel in html and html.count("/newsletter/o/") == 1
    assert "/newsletter/o/" not in personalise(compiled, {}, links).text


def test_no_pixel_without_open_tracking_in_previews_and_web_versions(delivery):
    compiled = campaign_compiled(delivery.campaign)
    untracked = personalise(compiled, {}, links_for(delivery, track_opens=False, tracking_enabled=False)).html
    assert "/newsletter/o/" not in untracked and "/newsletter/c/" not in untracked
    assert "https://example.org/article" in untracked
    preview = personalise(compiled, {}, InertLinks(BASE)).html
    assert "/newsletter/o/" not in preview and "/newsletter/c/" not in preview
    assert "".join(personalise(compiled, {}, None, pieces=True).html) == personalise(compiled, {}).html
    web = Client().get(reverse("wagtail_newsletter:web_version", args=[LinkSigner("web").sign(delivery.pk)]))
    assert "/newsletter/o/" not in web.content.decode()


def test_the_pixel_goes_before_the_last_body_end_or_at_the_end_of_a_fragment():
    from dataclasses import replace

    from wagtail_newsletter.compose.compiled import compile_email

    compiled = compile_email("<p>Hi</p>", subject="S", base_url=BASE, variables={})
    links = CampaignLinks(BASE, tracking=False, track_opens=True, campaign_id=7).for_delivery(3)
    assert personalise(compiled, {}, links).html.endswith('border:0" /></body></html>')
    fragment = replace(compiled, html=("<p>Hi</p>",), plans=None)
    assert personalise(fragment, {}, links).html.startswith("<p>Hi</p><img src=")
    quoted = replace(compiled, html=("<p>a</body> b</p>", "<p>c</BODY >\n</html>"), plans=None)
    assert re.fullmatch(
        r'<p>a</body> b</p><p>c<img src="[^"]+"[^>]+/></BODY >\n</html>', personalise(quoted, {}, links).html
    )


@pytest.mark.django_db(transaction=True)
def test_a_test_send_carries_no_pixel_and_no_tracked_link(archive, smtp_server):  # noqa: F811
    page = make_newsletter(archive)
    assert send_test_task(page.latest_revision_id, ["qa@example.org"]) == 1
    message = smtp_server.wait_for(1)[0]["message"]
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    for body in (html, text):
        assert "/newsletter/o/" not in body and "/newsletter/c/" not in body and "/newsletter/u/" not in body
    assert 'width="1" height="1"' not in html
    assert Event.objects.count() == 0


# --- unsubscribes, bounces, complaints, erasure ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_hits_outside_any_transaction_commit_and_leave_the_connection_clean():
    # On PostgreSQL this is the one-round-trip path (BEGIN; SET LOCAL; INSERT … SELECT; COMMIT in one string).
    delivery = make_delivery()
    assert Client().get(open_url(open_token(delivery))).status_code == 200
    assert Client().get(click_url(click_token(delivery, 0))).status_code == 302
    assert Client().get(click_url(click_token(delivery, 0, campaign_id=delivery.campaign_id + 1))).status_code == 404
    assert record_hit(EventKind.OPEN, delivery.pk + 1, delivery.campaign_id) is False
    assert connection.get_autocommit() and not connection.in_atomic_block
    if connection.vendor == "postgresql":
        import psycopg

        assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with pytest.raises(Exception, match="smallint"):  # a failing insert ends its transaction block
            record_hit(EventKind.CLICK, delivery.pk, delivery.campaign_id, link=70000)
        assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert events() == [
        (EventKind.OPEN, delivery.pk, delivery.campaign_id, None, Agent.UNKNOWN),
        (EventKind.CLICK, delivery.pk, delivery.campaign_id, 0, Agent.UNKNOWN),
    ]


@pytest.mark.django_db(transaction=True)
def test_postgresql_prepares_the_insert_once_per_connection_and_copes_with_a_pooler_dropping_it(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    from wagtail_newsletter.track import events as track_events

    monkeypatch.setattr(track_events, "_use_prepared", True)
    delivery = make_delivery()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert record_hit(EventKind.OPEN, delivery.pk, delivery.campaign_id)
    sqls = [query["sql"] for query in queries]
    assert sum(sql.startswith("PREPARE") for sql in sqls) <= 1 and sum("EXECUTE" in sql for sql in sqls) == 3
    with connection.cursor() as cursor:
        cursor.execute(f"DEALLOCATE {track_events._STATEMENT}")  # as a transaction-mode pooler would
    assert record_hit(EventKind.CLICK, delivery.pk, delivery.campaign_id, link=0)
    assert track_events._use_prepared is False  # this process now sends the plain statement
    assert record_hit(EventKind.CLICK, delivery.pk, delivery.campaign_id, link=1)
    assert [row[0] for row in events()] == [EventKind.OPEN] * 3 + [EventKind.CLICK] * 2
