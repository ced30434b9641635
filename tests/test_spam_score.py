"""The spam score of the pre-flight checklist, by a real SpamAssassin (spamd on 127.0.0.1, tests/spamd_server.py):
the message scored is the one subscribers get, a clean newsletter scores low, a spammy one high with named rules in
plain words, the editor's checklist and the send wizard show them, and a missing, dead, silent or confused spamd
never breaks the checklist nor blocks a send."""

import socket
import threading
from email import message_from_bytes, policy

import pytest
from django.urls import reverse

from wagtail_newsletter.compose.checks import WARNING
from wagtail_newsletter.compose.compiled import compile_page
from wagtail_newsletter.deliverability import spam_score
from wagtail_newsletter.deliverability.spam_hints import rule_hint

from .campaign_admin_fixtures import (  # noqa: F401 (fixtures)
    audience_fixture,
    campaigns_url,
    sender_client_fixture,
    sender_fixture,
)
from .compose_editor_fixtures import make_newsletter
from .conftest import free_port
from .spamd_server import spamd_fixture, spamd_settings_fixture  # noqa: F401 (fixtures)
from .test_admin_send_wizard import start_wizard

pytestmark = pytest.mark.django_db

FOOTER = {"type": "footer", "value": {"address": "1 Main Street", "text": "", "unsubscribe_label": "",
                                      "web_version_label": ""}}  # fmt: skip
SPAMMY_BODY = [
    {"type": "heading", "value": {"text": "FREE MONEY!!! CLICK HERE NOW", "level": "1", "alignment": "left"}},
    {
        "type": "rich_text",
        "value": {
            "text": "<p>DEAR FRIEND, YOU HAVE WON ONE MILLION DOLLARS ($1,000,000)! CLICK HERE NOW TO CLAIM YOUR FREE "
            "MONEY!!! 100% GUARANTEED, NO RISK, ACT NOW, LIMITED TIME OFFER.</p>"
            '<p><a href="https://bit.ly/claim-now">CLICK HERE</a></p>'
        },
    },
    FOOTER,
]


def spammy(archive):
    return make_newsletter(
        archive, title="Win", slug="win", subject="FREE!!! CLICK HERE TO WIN $1,000,000", body=SPAMMY_BODY
    )


def page_checks(page):
    return spam_score.page_spam_checks(page, compile_page(page))


def set_spamd(settings, **config):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "SPAMD": config}


def edit_page(client, page):
    response = client.get(reverse("wagtailadmin_pages:edit", args=[page.pk]))
    assert response.status_code == 200
    return response.content.decode()


# The message that is scored


def test_the_scored_message_is_the_one_a_subscriber_gets(newsletter):
    _key, raw = spam_score.representative_message(
        compile_page(newsletter), from_name="Garden Club", from_email="news@example.org", campaign_id=7
    )
    message = message_from_bytes(raw, policy=policy.default)
    assert message["Return-Path"].startswith("<bounces+") and message["From"] == "Garden Club <news@example.org>"
    assert "List-Unsubscribe-Post" in message and "mailto:unsubscribe+" in message["List-Unsubscribe"]
    assert message["Subject"] == "Spring news for Ada"  # the sample recipient's data, like a preview
    html = message.get_body(("html",)).get_content()
    assert "/newsletter/c/" in html and "https://example.org/spring/" not in html  # tracked, as sent
    assert message.get_body(("plain",)) is not None


def test_the_same_content_makes_the_same_cache_key(newsletter):
    compiled = compile_page(newsletter)
    first = spam_score.representative_message(compiled, from_name="A", from_email="news@example.org")
    second = spam_score.representative_message(compiled, from_name="A", from_email="news@example.org")
    other = spam_score.representative_message(compiled, from_name="B", from_email="news@example.org")
    assert first[0] == second[0] != other[0]


# Scores by the real spamd


def test_a_clean_newsletter_scores_low(spamd_settings, newsletter):
    result = spam_score.spam_score(compile_page(newsletter), from_name="Garden Club", from_email="news@example.org")
    assert result.score < 1.0 and result.threshold == 5.0
    [check] = page_checks(newsletter)
    assert check.code == "spam-score" and check.level == spam_score.INFO
    assert "Spam score 0.0" in check.message and check.rules == ()  # only 0-point informational rules hit


def test_a_spammy_newsletter_scores_high_with_named_rules_in_plain_words(spamd_settings, archive, newsletter):
    clean = spam_score.spam_score(compile_page(newsletter), from_name="G", from_email="news@example.org")
    [check] = page_checks(spammy(archive))
    assert check.level == WARNING and check.score >= 5.0 > clean.score
    names = [rule.name for rule in check.rules]
    assert {"DEAR_FRIEND", "GUARANTEED_100_PERCENT", "SUBJ_ALL_CAPS"} <= set(names)
    assert [rule.points for rule in check.rules] == sorted((rule.points for rule in check.rules), reverse=True)
    rules = {rule.name: rule for rule in check.rules}
    assert rules["SUBJ_ALL_CAPS"].hint == "The subject is written in capital letters. Write it as a sentence."
    assert rules["DEAR_FRIEND"].description.startswith("BODY: Dear Friend?")  # SpamAssassin's own words, kept
    assert rules["DEAR_FRIEND"].points_display == "+2.7"


def test_a_second_look_at_the_same_content_does_not_ask_spamd_again(spamd_settings, newsletter):
    def scans():
        return spamd_settings.log_path.read_text(errors="replace").count("spamd: result:")

    page_checks(newsletter)
    before = scans()
    page_checks(newsletter)
    assert scans() == before
    newsletter.subject = "Something else"
    page_checks(newsletter)
    assert scans() == before + 1


# In the admin


def test_the_editors_checklist_shows_the_score_and_each_rule(admin_client, spamd_settings, archive):
    page = edit_page(admin_client, spammy(archive))
    assert 'data-check="spam-score"' in page and 'data-level="warning"' in page
    assert 'data-spam-rule="DEAR_FRIEND"' in page
    assert "“Dear friend” is a typical spam greeting" in page
    assert 'data-check="url-shortener"' in page  # compose's own content checks stay


def test_the_send_wizard_warns_above_the_limit_and_a_tick_lets_it_through(
    sender_client, spamd_settings, archive, audience
):
    campaign = start_wizard(sender_client, spammy(archive))
    url = campaigns_url("send_checks", campaign.pk)
    page = sender_client.get(url).content.decode()
    assert 'data-check="spam-score"' in page and 'data-spam-rule="SUBJ_ALL_CAPS"' in page
    assert sender_client.post(url, {}).status_code == 200  # a warning to accept, like the others
    assert sender_client.post(url, {"accept_warnings": "on"}).url == campaigns_url("send_schedule", campaign.pk)


def test_a_low_score_needs_no_tick(sender_client, spamd_settings, newsletter, audience):
    campaign = start_wizard(sender_client, newsletter)
    url = campaigns_url("send_checks", campaign.pk)
    assert 'data-check="spam-score" data-level="info"' in sender_client.get(url).content.decode()
    assert sender_client.post(url, {}).url == campaigns_url("send_schedule", campaign.pk)


def test_the_limit_is_the_setting(spamd_settings, settings, archive):
    page = spammy(archive)
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "SPAM_SCORE_LIMIT": 50}
    [check] = page_checks(page)
    assert check.level == spam_score.INFO and "50.0 or more" in check.message and check.rules
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "SPAM_SCORE_LIMIT": 0.1}
    [check] = page_checks(page)
    assert check.level == WARNING and "at or above 0.1" in check.message


# Off, down, silent, confused


def test_without_spamd_there_is_no_entry(admin_client, newsletter):
    assert page_checks(newsletter) == []
    assert 'data-check="spam-score' not in edit_page(admin_client, newsletter)


def test_an_unreachable_spamd_gives_a_clear_note_and_the_checklist_still_opens(admin_client, settings, newsletter):
    port = free_port()  # nothing listens there
    set_spamd(settings, HOST="127.0.0.1", PORT=port, TIMEOUT=2)
    [check] = page_checks(newsletter)
    assert check.code == "spam-score-unavailable" and check.level == spam_score.INFO
    assert "It can still be sent" in check.message and f"127.0.0.1:{port}" in check.hint
    page = edit_page(admin_client, newsletter)
    assert 'data-check="spam-score-unavailable"' in page and 'data-check="all-clear"' not in page


def test_an_unreachable_spamd_never_blocks_the_send_wizard(sender_client, settings, newsletter, audience):
    set_spamd(settings, HOST="127.0.0.1", PORT=free_port(), TIMEOUT=2)
    campaign = start_wizard(sender_client, newsletter)
    url = campaigns_url("send_checks", campaign.pk)
    assert "Spam score unavailable" in sender_client.get(url).content.decode()
    assert sender_client.post(url, {}).url == campaigns_url("send_schedule", campaign.pk)


class OneShotServer:
    """A TCP server on 127.0.0.1 that reads a request and answers ``answer`` (None: accepts and says nothing)."""

    def __init__(self, answer):
        self.answer = answer
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        connection, _address = self.socket.accept()
        with connection:
            connection.settimeout(5)
            try:
                connection.recv(1 << 20)
                if self.answer is not None:
                    connection.sendall(self.answer)
                else:
                    self.done.wait(10)
            except OSError:
                pass

    def close(self):
        self.done.set()
        self.thread.join(10)
        self.socket.close()


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (None, "did not answer within 0.5 seconds"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "not the spamc protocol"),
        (b"SPAMD/1.1 76 Bad header line: (EOF)\r\n\r\n", "spamd refused the message: SPAMD/1.1 76"),
        (b"SPAMD/1.1 0 EX_OK\r\nContent-length: 3\r\n\r\nabc", "has no score"),
        (b"\xff\xfe\x00garbage", "not the spamc protocol"),
        (b"", "closed the connection without answering"),
    ],
)
def test_a_silent_or_confused_server_gives_the_unavailable_note(settings, newsletter, answer, words):
    server = OneShotServer(answer)
    try:
        set_spamd(settings, HOST="127.0.0.1", PORT=server.port, TIMEOUT=0.5)
        [check] = page_checks(newsletter)
    finally:
        server.close()
    assert check.code == "spam-score-unavailable" and words in check.hint


# Reading spamd's answers


REPORT = b"""SPAMD/1.1 0 EX_OK\r
Content-length: 400\r
Spam: True ; 6.2 / 5.0\r
\r
Content analysis details:   (6.2 points, 5.0 required)

 pts rule name              description
---- ---------------------- --------------------------------------------------
-0.0 NO_RECEIVED            Informational: message has no Received headers
 2.7 DEAR_FRIEND            BODY: Dear Friend? That's not very dear!
 3.5 SOME_LOCAL_RULE        A description that is long enough to be wrapped
                            onto a second line
                            [URIs: example.org]
 1.0 ADVANCE_FEE_3_NEW_MONEY Advance Fee fraud and lots of money

"""


def test_the_report_table_is_read_with_points_and_wrapped_descriptions():
    score, threshold, _headers, body = spam_score.parse_answer(REPORT)
    rules = spam_score.parse_report_rules(body)
    assert (score, threshold) == (6.2, 5.0)
    assert [(rule.name, rule.points) for rule in rules] == [
        ("NO_RECEIVED", -0.0), ("DEAR_FRIEND", 2.7), ("SOME_LOCAL_RULE", 3.5), ("ADVANCE_FEE_3_NEW_MONEY", 1.0)
    ]  # fmt: skip
    assert rules[2].description == "A description that is long enough to be wrapped onto a second line"


def test_a_report_without_its_table_has_no_rules_and_symbols_give_names():
    assert spam_score.parse_report_rules("Spam detection software, running on the system\n") is None
    rules = spam_score.parse_symbols("DEAR_FRIEND,SUBJ_ALL_CAPS,\r\n<bad name>")
    assert [(rule.name, rule.points) for rule in rules] == [("DEAR_FRIEND", None), ("SUBJ_ALL_CAPS", None)]


def test_unknown_rules_fall_back_to_spamassassins_description_and_families_share_a_hint():
    assert rule_hint("LOCAL_THING", "BODY: Mentions a thing") == "Mentions a thing"
    assert rule_hint("LOCAL_THING") == "LOCAL_THING"
    assert rule_hint("UPPERCASE_75_100") == rule_hint("UPPERCASE_50_75") != "UPPERCASE_50_75"
    check = spam_score.score_check(spam_score.SpamScore(6.0, 5.0, (spam_score.Rule("LOCAL_THING", 6.0, "x"),)), 5.0)
    assert check.level == WARNING and check.rules[0].hint == "x"
