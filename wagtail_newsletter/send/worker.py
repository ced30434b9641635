"""The send loop of a django-q2 worker: claim a batch, personalise, build, sign and send each message, record.

Exactly once: a message is marked sent right after the relay accepts it (one small UPDATE by primary key, before
the next message goes out), so a worker killed at any instant leaves at most the one message in flight to be sent
again — with the same Message-ID. Everything else (skips, retries, failures) is written once per batch.
"""

import datetime
import logging
import time
from contextlib import contextmanager
from email.utils import parseaddr

from django.core.mail import EmailMessage
from django.db import connection
from django.db.models import F
from django.db.models.functions import Greatest, Least
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import taskqueue
from ..audience.models import Status
from ..compose.personalise import personalise
from ..conf import newsletter_settings
from ..mail_text import date_header
from ..tokens import LinkSigner
from . import claims, leases, quotas
from .campaigns import CampaignError, finish_if_done, pause, settle_cancelled
from .dispatch import kick
from .links import CampaignLinks, campaign_compiled, compiled_for
from .mime import unsubscribe_mailto
from .models import Campaign, CampaignStatus, Delivery, DeliveryStatus, PauseCause
from .outgoing import campaign_sender, envelope_sender, message_id_for
from .transport import CONNECTION, PERMANENT, POLICY, SmtpTransport, TransportError, open_transport

logger = logging.getLogger(__name__)

MAX_THROTTLE_MS = 10_000
STATE_CHECK_SECONDS = 1.0


@contextmanager
def fast_commits():
    """PostgreSQL: don't wait for the WAL flush on each "sent" mark (a server crash, not a worker's, could then
    cost a duplicate); everything else keeps its durability."""
    postgres = connection.vendor == "postgresql"
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        if postgres and connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")


def _campaign_state(campaign_id):
    return Campaign.objects.filter(pk=campaign_id).values("status", "hold_until", "throttle_ms").first()


def send_campaign_task(campaign_id):
    """django-q2 task: send batches of ``campaign_id`` for up to SEND_TASK_SECONDS, then hand over to a new task.

    On SIGTERM it finishes the message in flight, gives the rest of its batch back and hands over at once.
    Returns the number of messages sent by this task.
    """
    started = time.monotonic()
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or campaign.status != CampaignStatus.SENDING:
        return 0
    if leases.senders(campaign_id, timezone.now()) >= newsletter_settings.SEND_CONCURRENCY:
        return 0  # a kick that waited behind other tasks: the campaign has its senders
    with taskqueue.stop_on_sigterm():  # a worker told to stop ends when this block does
        sent, hand_over = _send_for_a_while(campaign, started + newsletter_settings.SEND_TASK_SECONDS)
        if hand_over:
            kick(campaign_id)
        seconds, stopped = time.monotonic() - started, " (stopped by SIGTERM)" if taskqueue.stop_requested() else ""
        logger.info("Campaign %s: %d sent by this task in %.1f s%s", campaign_id, sent, seconds, stopped)
    return sent


def _send_for_a_while(campaign, deadline):
    """The send loop: claim, send, record until ``deadline``; returns (messages sent, whether to hand over)."""
    settings = newsletter_settings
    campaign_id = campaign.pk
    token = claims.new_token()
    sender = None
    sent = 0
    recruited_at = time.monotonic()
    try:
        with fast_commits(), leases.LeaseKeeper(token, settings.SEND_LEASE_SECONDS):
            while True:
                if time.monotonic() >= deadline or taskqueue.stop_requested():
                    return sent, True
                state = _campaign_state(campaign_id)
                if state is None or state["status"] != CampaignStatus.SENDING:
                    return sent, False
                now = timezone.now()
                if state["hold_until"] and state["hold_until"] > now:
                    if not _wait_until(state["hold_until"], deadline):
                        return sent, False
                    continue
                if state["hold_until"]:  # the hold is over: its note with it
                    Campaign.objects.filter(pk=campaign_id, hold_until=state["hold_until"]).update(
                        hold_until=None, status_note=""
                    )
                batch_size = _batch_size(state["throttle_ms"])
                granted, retry_at = quotas.reserve(batch_size, now=now)
                if not granted:
                    _hold(campaign_id, retry_at, _("Hourly sending quota used up; sending resumes at %(time)s."))
                    return sent, False
                token, rows = claims.claim(campaign_id, granted, settings.SEND_LEASE_SECONDS, now=now, token=token)
                if len(rows) < granted:
                    quotas.release(granted - len(rows), quotas.window_start(now))
                if not rows:
                    if not claims.pending_exists(campaign_id):
                        finish_if_done(campaign_id)
                        return sent, False
                    # Retries due later, or rows other tasks hold (a dead one's are ours once its lease runs out).
                    wakes = [claims.next_due(campaign_id), leases.next_expiry(campaign_id)]
                    wake = min(filter(None, wakes), default=None)
                    if wake is None or not _wait_until(wake, deadline):
                        return sent, False
                    continue
                if sender is None:
                    sender = CampaignSender(campaign)
                outcome = sender.send_batch(rows, state["throttle_ms"])
                sent += outcome.sent
                if outcome.unsent:
                    quotas.release(outcome.unsent, quotas.window_start(now))
                if outcome.stop:
                    return sent, False
                if time.monotonic() - recruited_at >= settings.SEND_LEASE_SECONDS / 3:
                    recruited_at = time.monotonic()
                    leases.recruit(campaign_id, token, timezone.now())
    finally:
        if sender is not None:
            sender.close()


def _batch_size(throttle_ms):
    """A batch must finish well within its lease, even when the relay makes us wait between messages."""
    size = newsletter_settings.SEND_BATCH_SIZE
    if throttle_ms:
        size = min(size, max(1, int(newsletter_settings.SEND_LEASE_SECONDS * 1000 / 2 / (throttle_ms + 50))))
    return size


def _wait_until(when, deadline):
    """Sleep until ``when`` if that is before this task's deadline; False when it isn't."""
    seconds = (when - timezone.now()).total_seconds()
    if time.monotonic() + seconds >= deadline:
        return False
    taskqueue.sleep(seconds)  # cut short by SIGTERM: the loop then hands over
    return True


def _hold(campaign_id, until, note):
    when = timezone.localtime(until).strftime("%H:%M:%S")
    Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.SENDING).update(
        hold_until=until, status_note=note % {"time": when}
    )


NOT_SUBSCRIBED = gettext_lazy("Not subscribed any more")
PAUSED = gettext_lazy("Paused by the subscriber")


def skip_reason(row, now):
    """Why a claimed row must not be sent now (None: send it). Its subscriber may have left, bounced, been deleted
    or taken a pause since the campaign was planned: the claim read their state with the row, so this costs no
    query."""
    _id, _attempts, subscriber_id, email, _first, _last, _language, _data, status, deleted_at = row[:10]
    if subscriber_id is None or email is None or deleted_at is not None or status != Status.SUBSCRIBED:
        return NOT_SUBSCRIBED
    paused_until = row[11]
    if paused_until is not None and paused_until > now:
        return PAUSED
    return None


def _sendable(row, now):
    return skip_reason(row, now) is None


def _recipient(row):
    _id, _attempts, _subscriber, email, first, last, language, data, _status, _deleted = row[:10]
    return {"email": email, "first_name": first, "last_name": last, "language": language, "data": data}


class BatchOutcome:
    __slots__ = ("sent", "unsent", "stop")

    def __init__(self):
        self.sent = self.unsent = 0
        self.stop = False


class CampaignSender:
    """Everything prepared once per campaign for a worker: compiled email, MIME skeleton, signer, links, transport."""

    def __init__(self, campaign):
        self.campaign = campaign
        self.compiled = campaign_compiled(campaign)
        self.sender = campaign_sender(campaign)
        self.skeleton, self.from_domain = self.sender.skeleton, self.sender.domain
        self.return_domain = newsletter_settings.RETURN_PATH_DOMAIN or self.from_domain
        self.mailto_domain = newsletter_settings.UNSUBSCRIBE_MAILTO_DOMAIN or self.return_domain
        self.links = CampaignLinks.of(campaign, self.compiled.base_url)
        # (compiled email, links) per translation, made on a language's first message (send.translations).
        self.languages = {"": (self.compiled, self.links)}
        self.bounce_signer = LinkSigner("bounce")
        self.transport = open_transport()
        self.raw = isinstance(self.transport, SmtpTransport)

    def close(self):
        self.transport.close()

    def message(self, delivery_id, recipient, language="", date=None):
        """(envelope sender, raw bytes or None, builder of a Django message) for one delivery, in ``language``;
        ``date``: the time of the raw message (now when None)."""
        compiled, campaign_links = self.languages.get(language) or self._language(language)
        links = campaign_links.for_delivery(delivery_id)
        personalised = personalise(compiled, recipient, links, pieces=self.raw)
        mailto = unsubscribe_mailto(delivery_id, self.mailto_domain, token=links.unsubscribe_token)
        message_id = message_id_for(delivery_id, self.from_domain)
        headers = {
            "to_email": recipient["email"],
            "subject": personalised.subject,
            "html": personalised.html,
            "text": personalised.text,
            "message_id": message_id,
            "list_unsubscribe_url": links.unsubscribe_url,
            "list_unsubscribe_mailto": mailto,
        }
        envelope = self.envelope_of(delivery_id)
        if self.raw:
            return envelope, self.skeleton.render(**headers, date=date), None
        return envelope, None, lambda: self.sender.django_message(**headers)

    def send_batch(self, rows, throttle_ms):
        """Send claimed ``rows``; write skips, retries and failures once at the end (sent ones are written at once).

        While the relay takes one message the next is built (and, with PIPELINING, its envelope announced in the
        same write as this body), so the worker's CPU and the relay's work overlap.
        """
        batch = BatchOutcome()
        skipped, failures, bounces = {}, [], []  # skipped: {reason: [delivery id, …]}
        batch_time = timezone.now()  # pauses are compared with the batch's start: one clock read
        throttled = False
        started = last_check = time.monotonic()
        prepared = None  # (delivery id, envelope, raw, build) of the next message, built while the relay worked
        with claims.SentMarks() as marks:
            for position, row in enumerate(rows):
                delivery_id, attempts, subscriber_id, email, first, last, language, data, status, deleted_at = row[:10]
                now = time.monotonic()
                state = None
                if now - last_check >= STATE_CHECK_SECONDS:
                    last_check = now
                    state = _campaign_state(self.campaign.pk)
                    if state is not None and state["status"] == CampaignStatus.SENDING:
                        throttle_ms, state = state["throttle_ms"], None
                    else:
                        state = state or {"status": None}
                if (
                    state is not None
                    or now - started > newsletter_settings.SEND_LEASE_SECONDS / 2
                    or taskqueue.stop_requested()
                ):
                    self.transport.abandon()
                    self._give_back(rows[position:], batch, cancelled=bool(state) and state["status"] == "cancelled")
                    batch.stop = state is not None
                    break
                reason = skip_reason(row, batch_time)
                if reason is not None:
                    skipped.setdefault(reason, []).append(delivery_id)
                    batch.unsent += 1
                    continue
                following = rows[position + 1] if position + 1 < len(rows) and not throttle_ms else None
                if following is not None and not _sendable(following, batch_time):
                    following = None
                try:
                    if prepared is None or prepared[0] != delivery_id:
                        prepared = (delivery_id, *self.message(delivery_id, _recipient(row), row[10]))
                    _id, envelope, raw, build = prepared
                    prepared = None
                    announce = (self.envelope_of(following[0]), following[3]) if following is not None else None
                    self.transport.submit(envelope, email, raw, build, next_envelope=announce)
                    if following is not None:
                        prepared = self._prepare_quietly(following)
                    code, _answer = self.transport.finish()
                except ValueError as error:  # an address MIME can't carry (non-ASCII local part): give up on it
                    failures.append(self._failure(delivery_id, attempts, TransportError(PERMANENT, None, str(error))))
                    bounces.append(self._bounce(failures[-1], hard=True))
                    batch.unsent += 1
                    continue
                except TransportError as error:
                    throttled = throttled or error.throttled
                    if error.kind in (CONNECTION, POLICY):
                        self.transport.abandon()
                        self._give_back(rows[position:], batch)
                        # A policy rejection pauses the campaign; an unreachable relay holds it (the loop waits).
                        batch.stop = error.kind == POLICY
                        self._stop_for(error)
                        break
                    failures.append(self._failure(delivery_id, attempts, error))
                    if failures[-1].status == DeliveryStatus.FAILED:  # given up on: a bounce event
                        bounces.append(self._bounce(failures[-1], hard=error.kind == PERMANENT))
                    batch.unsent += 1
                    continue
                marks.mark_sent(delivery_id, code)
                batch.sent += 1
                if throttle_ms:
                    taskqueue.sleep(throttle_ms / 1000)
            else:
                self.transport.abandon()
        for reason, ids in skipped.items():  # one UPDATE per reason and batch
            claims.mark_skipped(ids, str(reason))
        claims.record_outcomes(failures, bounces)
        self._adjust_throttle(throttled, throttle_ms)
        return batch

    def message_of_row(self, row, date=None):
        """``message`` for a row as ``claims.claim`` returns it (``claims.delivery_row`` reads one without claiming)."""
        return self.message(row[0], _recipient(row), row[10], date=date)

    def _language(self, language):
        """Prepare a translation once: its compiled email and links numbered from its offset (one query)."""
        compiled, offset = compiled_for(self.campaign, language)
        prepared = self.languages[language] = (
            compiled,
            CampaignLinks.of(self.campaign, compiled.base_url, link_offset=offset),
        )
        return prepared

    def envelope_of(self, delivery_id):
        return envelope_sender(delivery_id, self.return_domain, self.bounce_signer)

    def _prepare_quietly(self, row):
        """The next message, built ahead; None when it cannot be: its own turn builds it again and fails there, never
        between handing this message over and marking it sent."""
        try:
            return (row[0], *self.message(row[0], _recipient(row), row[10]))
        except Exception:  # noqa: BLE001
            return None

    def _give_back(self, rows, batch, cancelled=False):
        """Rows this batch won't send: back to the queue, or skipped when the campaign was cancelled."""
        ids = [row[0] for row in rows]
        if cancelled:
            settle_cancelled(self.campaign.pk, ids=ids)
        else:
            claims.release(ids)
        batch.unsent += len(ids)

    def _bounce(self, failure, hard):
        """The bounce event of a delivery given up on, with the server's answer (code and text)."""
        detail = f"{failure.smtp_code or ''} {failure.error}".strip()
        return claims.Bounce(failure.pk, self.campaign.pk, hard, detail)

    def _failure(self, delivery_id, attempts, error):
        settings = newsletter_settings
        delivery = Delivery(pk=delivery_id, claim=None, lease_expires_at=None, smtp_code=error.code)
        delivery.error = error.message[:500]
        if error.kind == PERMANENT or attempts >= settings.SEND_MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
        else:
            delay = min(settings.SEND_RETRY_SECONDS * 2 ** max(attempts - 1, 0), 6 * 3600)
            delivery.status = DeliveryStatus.QUEUED
            delivery.next_attempt_at = timezone.now() + datetime.timedelta(seconds=delay)
        return delivery

    def _adjust_throttle(self, throttled, throttle_ms):
        campaigns = Campaign.objects.filter(pk=self.campaign.pk)
        if throttled:
            campaigns.update(throttle_ms=Least(Greatest(F("throttle_ms") * 2, 200), MAX_THROTTLE_MS))
        elif throttle_ms:
            # Recover gradually once the relay accepts a whole batch again.
            campaigns.update(throttle_ms=F("throttle_ms") / 2 if throttle_ms > 100 else 0)

    def _stop_for(self, error):
        if error.kind == POLICY:
            reason = _(
                "Paused: the mail server refused the sender (%(answer)s). Check the sender domain's reputation "
                "and DNS records before resuming."
            ) % {"answer": f"{error.code or ''} {error.message}".strip()}
            try:
                pause(self.campaign, reason=reason, cause=PauseCause.RELAY)
            except CampaignError:
                return
            alert_editor(self.campaign, reason)
            logger.error("Campaign %s paused: %s", self.campaign.pk, error)
        else:
            until = timezone.now() + datetime.timedelta(seconds=newsletter_settings.SEND_RETRY_SECONDS)
            _hold(
                self.campaign.pk,
                until,
                _("The mail server could not be reached (%(error)s); retrying at %%(time)s.") % {"error": error},
            )
            logger.warning("Campaign %s: relay unavailable (%s), retrying later", self.campaign.pk, error)


def alert_editor(campaign, reason):
    """Tell the person who started the campaign why it stopped (best effort: the relay may refuse us too)."""
    user = campaign.sent_by or campaign.created_by
    address = getattr(user, "email", "")
    if not address:
        return
    sender = parseaddr(newsletter_settings.DEFAULT_FROM_EMAIL or "")[1] or None
    EmailMessage(
        _("Newsletter campaign “%(name)s” paused") % {"name": campaign.name},
        reason,
        sender,
        [address],
        headers={"Date": date_header()},  # Django's own would be UTC's "-0000"
    ).send(fail_silently=True)
