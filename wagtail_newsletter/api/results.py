"""The small typed values the Python API returns (plain dataclasses: easy to print, compare and serialise)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Subscription:
    """What ``subscribe`` did.

    ``outcome``: "created" (a new subscribed address), "updated" (a known one, its data merged), "pending" (a
    confirmation email was asked for: the person subscribes by clicking it) or "skipped" (nothing written: see
    ``reason``). ``status``: the subscriber's status now; ``subscriber_id``: None when skipped before any row.
    """

    email: str
    outcome: str
    status: str
    subscriber_id: int | None
    reason: str = ""


@dataclass(frozen=True)
class Skipped:
    """A row ``upsert_subscribers`` left out: its position (1 = the first row), address as given, and why."""

    row: int
    email: str
    reason: str


@dataclass
class UpsertResult:
    """What ``upsert_subscribers`` did, in counts.

    ``created``: new subscribers (subscribed, or pending when ``double_opt_in``); ``updated``: known addresses whose
    data was merged (their status never changes: ``kept_status`` counts those left unsubscribed, bounced or
    complained); ``skipped``: rows not written (invalid, suppressed, being erased), ``skipped_rows`` the first
    10,000 with their reasons; ``merged``: rows folded into an earlier row of the same address;
    ``confirmations``: confirmation emails asked for (``double_opt_in``).
    """

    created: int = 0
    updated: int = 0
    skipped: int = 0
    merged: int = 0
    confirmations: int = 0
    kept_status: dict[str, int] = field(default_factory=dict)
    skipped_rows: list[Skipped] = field(default_factory=list)
    dry_run: bool = False

    @property
    def reasons(self) -> dict[str, int]:
        """{reason: how many skipped rows} (of the kept ``skipped_rows``)."""
        counts: dict[str, int] = {}
        for skipped in self.skipped_rows:
            counts[skipped.reason] = counts.get(skipped.reason, 0) + 1
        return counts


@dataclass(frozen=True)
class CampaignProgress:
    """Where a campaign's sending stands (one grouped query over its deliveries).

    ``total`` = ``queued`` + ``sending`` + ``sent`` + ``failed`` + ``skipped``; ``percent``: done of total (0–100);
    ``rate_per_minute`` and ``eta_seconds``: None until something was sent; ``finished``: sent, cancelled or failed.
    """

    campaign_id: int
    status: str
    total: int
    queued: int
    sending: int
    sent: int
    failed: int
    skipped: int
    percent: float
    rate_per_minute: float | None
    eta_seconds: int | None
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    finished: bool
    note: str = ""


@dataclass(frozen=True)
class CampaignStatistics:
    """A campaign's report figures, from the aggregated tracking tables (the same numbers as the admin report).

    Human opens and clicks only (machine ones are counted apart); rates are 0–1, None when nothing to divide by.
    ``updated_at``: when the events were last folded in (``statistics(…, refresh=True)`` folds them now).
    """

    campaign_id: int
    recipients: int
    sent: int
    failed: int
    delivered: int
    opens: int
    unique_opens: int
    clicks: int
    unique_clicks: int
    machine_opens: int
    machine_clicks: int
    unsubscribes: int
    hard_bounces: int
    soft_bounces: int
    complaints: int
    open_rate: float | None
    click_rate: float | None
    updated_at: datetime.datetime | None


@dataclass(frozen=True)
class DkimKey:
    """A sender domain's DKIM key, as DNS must publish it: a TXT record named ``dns_name`` with ``dns_value`` (split
    into ``txt_strings`` of at most 255 characters for DNS servers that need it). The private key stays in the
    database; ``fingerprint``: SHA-256 of the public key, to tell keys apart."""

    domain: str
    selector: str
    dns_name: str
    dns_value: str
    txt_strings: tuple[str, ...]
    bits: int
    fingerprint: str


@dataclass(frozen=True)
class DkimKeys:
    """The DKIM keys of a sender domain during gapless rotation (``api.dkim_keys``): ``current`` signs its mail;
    ``pending``, between ``rotate_dkim_key`` and ``complete_dkim_rotation``, waits for its record in DNS and signs
    nothing; ``previous_selector``: the selector the last rotation replaced, whose record may be removed after
    ``previous_removable_after`` (a week after ``rotated_at``, once the mail signed with it has been delivered)."""

    domain: str
    current: DkimKey | None
    pending: DkimKey | None
    rotation_started_at: datetime.datetime | None
    previous_selector: str
    rotated_at: datetime.datetime | None
    previous_removable_after: datetime.datetime | None
