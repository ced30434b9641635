"""The spam score of a newsletter, as a real SpamAssassin (``spamd``) sees the message subscribers will get.

The message is built the way the send workers build it (``send.outgoing.Sender``'s skeleton, DKIM signature,
tracked links, List-Unsubscribe, VERP Return-Path) for a sample recipient, and sent to spamd with the spamc protocol
(``REPORT``, over a plain socket: one short request, one answer). The answer gives the score and the rules that hit,
each with its points and description; ``spam_hints`` puts them in plain words.

Off when ``SPAMD`` is None. A spamd that is down, slow or answers nonsense gives a "score unavailable" note: the
checklist never fails and sending is never blocked because of it. Results are cached by content for an hour, so the
editor's checklist panel does not ask spamd again on every page load.

Levels, as Mailchimp and Infomaniak treat their spam tests (advice, never a refusal): under ``SPAM_SCORE_LIMIT`` the
score is information; at or above it a warning, which the send wizard asks the editor to accept; never an error.
"""

import hashlib
import logging
import re
import socket
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from ..compose.checks import WARNING, Check
from ..compose.personalise import personalise, sample_recipient
from ..conf import newsletter_settings
from ..send.links import CampaignLinks
from ..send.mime import unsubscribe_mailto
from ..send.outgoing import Sender, envelope_sender, message_id_for, sender_of
from .spam_hints import rule_hint

logger = logging.getLogger(__name__)

INFO = "info"  # shown in the checklist, nothing to accept
CODE = "spam-score"
UNAVAILABLE_CODE = "spam-score-unavailable"
SAMPLE_DELIVERY_ID = 1_000_000  # a delivery id of a realistic size, for the signed tokens and the Message-ID
CACHE_SECONDS = 3600
MAX_ANSWER_BYTES = 1 << 20
DEFAULT_PORT = 783
DEFAULT_TIMEOUT = 10.0

_SPAM_HEADER = re.compile(r"^\s*(?:true|false|yes|no)\s*;\s*(-?\d+(?:\.\d+)?)\s*/\s*(-?\d+(?:\.\d+)?)\s*$", re.I)
_TABLE_RULE = re.compile(r"^\s{0,5}(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)(?:\s+(.*?))?\s*$")
_TABLE_START = re.compile(r"^-{3,}\s+-{3,}")
_SYMBOL = re.compile(r"^[A-Z0-9_]+$")


class SpamdUnavailable(Exception):
    """spamd could not be reached or gave no usable answer; the message says why (for operators)."""


@dataclass(frozen=True)
class Rule:
    name: str
    points: float | None  # None when spamd's report gave no table (a site's own report template)
    description: str  # SpamAssassin's own words
    hint: str = ""  # plain words for editors (translated when made)

    @property
    def points_display(self):
        return "" if self.points is None else f"{self.points:+.1f}"


@dataclass(frozen=True)
class SpamScore:
    score: float
    threshold: float  # spamd's own required_score
    rules: tuple = ()


@dataclass(frozen=True)
class SpamScoreCheck(Check):
    """A checklist entry that also lists the rules that hit (the checklist template shows them)."""

    rules: tuple = ()
    score: float | None = None


def spamd_config():
    """(host, port, timeout) from the SPAMD setting, or None when no spamd is configured."""
    config = newsletter_settings.SPAMD
    if not config:
        return None
    return (
        str(config.get("HOST") or "127.0.0.1"),
        int(config.get("PORT") or DEFAULT_PORT),
        float(config.get("TIMEOUT") or DEFAULT_TIMEOUT),
    )


def ask_spamd(message, host, port, timeout, command="REPORT"):
    """Send ``message`` (bytes) to spamd with the spamc protocol and return the whole answer (bytes). The whole
    exchange takes at most ``timeout`` seconds. Raises SpamdUnavailable."""
    deadline = time.monotonic() + timeout
    request = f"{command} SPAMC/1.5\r\nContent-length: {len(message)}\r\n\r\n".encode("ascii") + message
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            connection.sendall(request)
            connection.shutdown(socket.SHUT_WR)
            chunks, size = [], 0
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                connection.settimeout(remaining)
                chunk = connection.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    raise SpamdUnavailable(_("spamd's answer is too long."))
    except TimeoutError as error:
        raise SpamdUnavailable(_("spamd did not answer within %(seconds)s seconds.") % {"seconds": timeout}) from error
    except OSError as error:
        raise SpamdUnavailable(
            _("spamd at %(host)s:%(port)s cannot be reached (%(error)s).")
            % {"host": host, "port": port, "error": error.strerror or error}
        ) from error
    return b"".join(chunks)


def parse_answer(answer):
    """(score, threshold, headers, body text) of a spamd answer. Raises SpamdUnavailable for anything else."""
    if not answer:  # what spamd does to a client outside its --allowed-ips
        raise SpamdUnavailable(_("spamd closed the connection without answering."))
    head, separator, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(None, 2)
    if len(status) < 2 or not status[0].startswith("SPAMD/"):
        raise SpamdUnavailable(_("spamd gave an answer that is not the spamc protocol."))
    if status[1] != "0":
        raise SpamdUnavailable(_("spamd refused the message: %(answer)s") % {"answer": lines[0][:200]})
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    match = _SPAM_HEADER.match(headers.get("spam", ""))
    if not separator or match is None:
        raise SpamdUnavailable(_("spamd's answer has no score."))
    return float(match[1]), float(match[2]), headers, body.decode("utf-8", "replace")


def parse_report_rules(report):
    """[Rule] of the "Content analysis details" table of a REPORT body, None when it has no such table."""
    rules, in_table = [], False
    for line in report.splitlines():
        if not in_table:
            in_table = bool(_TABLE_START.match(line))
            continue
        if not line.strip():
            if rules:
                break
            continue
        match = _TABLE_RULE.match(line)
        if match:
            rules.append([match[2], float(match[1]), match[3] or ""])
        elif rules and not line.strip().startswith("["):  # a wrapped description (not "[URIs: …]" details)
            rules[-1][2] = f"{rules[-1][2]} {line.strip()}".strip()
    if not in_table:
        return None
    return [Rule(name, points, description) for name, points, description in rules]


def parse_symbols(body):
    """[Rule] (no points) of a SYMBOLS answer: comma-separated rule names."""
    names = [name.strip() for name in body.replace("\r\n", "").split(",")]
    return [Rule(name, None, "") for name in names if _SYMBOL.match(name)]


def score_message(message, host, port, timeout):
    """The SpamScore of ``message`` (bytes). Raises SpamdUnavailable."""
    score, threshold, _headers, body = parse_answer(ask_spamd(message, host, port, timeout))
    rules = parse_report_rules(body)
    if rules is None:  # the site's report template has no rule table: ask for the names alone
        rules = parse_symbols(parse_answer(ask_spamd(message, host, port, timeout, "SYMBOLS"))[3])
    return SpamScore(score, threshold, tuple(rules))


def representative_message(
    compiled, from_name, from_email, reply_to="", tracking=True, track_opens=True, campaign_id=0
):
    """The bytes one recipient (the sample recipient) would get, built as the send worker builds a campaign's
    message, with the Return-Path the receiving server adds. Returns (cache key, bytes)."""
    sender = Sender(from_name, from_email, reply_to=reply_to, feedback_id=f"{campaign_id}:0:newsletter:sample")
    links = CampaignLinks(compiled.base_url, tracking, track_opens, campaign_id).for_delivery(SAMPLE_DELIVERY_ID)
    personalised = personalise(compiled, sample_recipient(compiled.language, compiled.base_url), links)
    return_domain = newsletter_settings.RETURN_PATH_DOMAIN or sender.domain
    mailto_domain = newsletter_settings.UNSUBSCRIBE_MAILTO_DOMAIN or return_domain
    parts = {
        "to_email": "reader@example.com",
        "to_name": "",
        "subject": personalised.subject,
        "html": personalised.html,
        "text": personalised.text,
        "message_id": message_id_for(SAMPLE_DELIVERY_ID, sender.domain),
        "list_unsubscribe_url": links.unsubscribe_url,
        "list_unsubscribe_mailto": unsubscribe_mailto(SAMPLE_DELIVERY_ID, mailto_domain, token=links.unsubscribe_token),
    }
    envelope = envelope_sender(SAMPLE_DELIVERY_ID, return_domain)
    # What varies between two builds of the same content (Date, the DKIM timestamp) stays out of the key.
    key_source = repr((sender.name, sender.address, sender.reply_to, sorted(parts.items()), envelope))
    key = hashlib.sha256(key_source.encode("utf-8")).hexdigest()
    raw = f"Return-Path: <{envelope}>\r\n".encode("ascii") + sender.skeleton.render(**parts)
    return key, raw


def spam_score(compiled, **sender):
    """The SpamScore of ``compiled`` for ``sender`` (``representative_message``'s keywords), from the cache when
    the same content was scored by the same spamd in the last hour. None when no spamd is configured. Raises
    SpamdUnavailable."""
    config = spamd_config()
    if config is None:
        return None
    key, message = representative_message(compiled, **sender)
    cache_key = "wagtail_newsletter:spam_score:" + hashlib.sha256(f"{config[:2]}:{key}".encode()).hexdigest()
    result = cache.get(cache_key)
    if result is None:
        result = score_message(message, *config)
        cache.set(cache_key, result, CACHE_SECONDS)  # failures are not cached: the next look asks again
    return result


def _number(value):
    """One decimal, in the reader's locale; never "-0.0"."""
    return number_format(round(value, 1) + 0.0, 1)


def score_check(result, limit):
    """The checklist entry of a SpamScore: information under ``limit``, a warning at or above it."""
    rules = sorted(
        (Rule(rule.name, rule.points, rule.description, rule_hint(rule.name, rule.description)) for rule in result.rules
         if rule.points is None or abs(rule.points) >= 0.05),
        key=lambda rule: -(rule.points or 0),
    )  # fmt: skip
    values = {"score": _number(result.score), "limit": _number(limit)}
    if result.score >= limit:
        return SpamScoreCheck(
            CODE,
            WARNING,
            _("Spam score %(score)s: at or above %(limit)s, many mailboxes will file this newsletter as spam.")
            % values,
            _("SpamAssassin counted the points below against it. Rework them and check again."),
            rules=tuple(rules),
            score=result.score,
        )
    return SpamScoreCheck(
        CODE,
        INFO,
        _("Spam score %(score)s (SpamAssassin; mailboxes treat %(limit)s or more as spam).") % values,
        _("The points below count against it; fewer is safer.") if rules else _("No rule counts against it."),
        rules=tuple(rules),
        score=result.score,
    )


def unavailable_check(reason):
    return SpamScoreCheck(
        UNAVAILABLE_CODE,
        INFO,
        _("Spam score unavailable: SpamAssassin could not score this newsletter. It can still be sent."),
        reason,
    )


def spam_score_checks(compiled, **sender):
    """[] when no spamd is configured; else one checklist entry: the score with its rules, or why there is none.
    Never raises: a failure to build or score the message becomes the "unavailable" note."""
    if spamd_config() is None or not sender_of(sender.get("from_name", ""), sender.get("from_email", ""))[1]:
        return []  # no spamd, or no sender at all (the checklist says so already)
    try:
        result = spam_score(compiled, **sender)
    except SpamdUnavailable as error:
        logger.warning("Spam score unavailable: %s", error)
        return [unavailable_check(str(error))]
    except Exception as error:  # the checklist must open whatever happens here
        logger.exception("Spam score failed")
        return [unavailable_check(_("Unexpected error: %(error)s") % {"error": error})]
    return [score_check(result, float(newsletter_settings.SPAM_SCORE_LIMIT))]


def page_spam_checks(page, compiled):
    """``spam_score_checks`` of a newsletter page (or its revision's object) before any campaign exists."""
    return spam_score_checks(
        compiled,
        from_name=page.sender_name,
        from_email=page.sender_email,
        reply_to=getattr(page, "reply_to", ""),
        tracking=getattr(page, "tracking_enabled", True),
        track_opens=getattr(page, "track_opens", True),
    )


def campaign_spam_checks(campaign, compiled):
    """``spam_score_checks`` of a campaign, with its own sender, tracking settings and id."""
    return spam_score_checks(
        compiled,
        from_name=campaign.from_name,
        from_email=campaign.from_email,
        reply_to=campaign.reply_to,
        tracking=campaign.tracking_enabled,
        track_opens=campaign.track_opens,
        campaign_id=campaign.pk,
    )
