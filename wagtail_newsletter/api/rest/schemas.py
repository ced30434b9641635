"""What the REST API reads and answers (pydantic through django-ninja): these classes are its OpenAPI schema."""

import datetime
from typing import Annotated, Any, Literal

from ninja import Field, Path, Query, Schema

# Ids fit a 64-bit integer column on every database (a larger number is a 422, not an overflow).
MAX_ID = 2**62
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
ID_PATH = Path(..., ge=1, le=MAX_ID)
ID_QUERY = Query(None, ge=1, le=MAX_ID)
Email = Field(..., min_length=1, max_length=254, examples=["ada@example.org"])
StatusName = Literal["pending", "subscribed", "unsubscribed", "bounced", "complained"]


class SubscriberOut(Schema):
    id: int
    email: str
    first_name: str
    last_name: str
    language: str
    status: StatusName
    source: str
    fields: dict[str, Any]
    groups: list[Id]
    first_subscribed_at: datetime.datetime | None
    status_changed_at: datetime.datetime
    created_at: datetime.datetime
    updated_at: datetime.datetime


class SubscriberPage(Schema):
    items: list[SubscriberOut]
    next_cursor: str | None


class SubscriberIn(Schema):
    email: str = Email
    first_name: str = Field("", max_length=255)
    last_name: str = Field("", max_length=255)
    language: str = Field("", max_length=10)
    fields: dict[str, Any] = Field(default_factory=dict, description="Custom field values by key.")
    groups: list[Id] = Field(default_factory=list, max_length=100, description="Ids of the groups to join.")
    double_opt_in: bool = Field(
        False,
        description="True: the person gets the confirmation mail of form_id and is subscribed once they confirm "
        "(status pending until then). False: subscribed at once (you have their consent).",
    )
    form_id: Id | None = Field(None, description="The subscription form whose consent text and mail are used.")


class SubscriberPatch(Schema):
    first_name: str | None = Field(None, max_length=255)
    last_name: str | None = Field(None, max_length=255)
    language: str | None = Field(None, max_length=10)
    fields: dict[str, Any] | None = Field(None, description="Merged into the current values; null removes a value.")
    groups: list[Id] | None = Field(None, max_length=100, description="Replaces the groups the subscriber is in.")


class BulkRow(Schema):
    email: str = Email
    first_name: str = Field("", max_length=255)
    last_name: str = Field("", max_length=255)
    language: str = Field("", max_length=10)
    fields: dict[str, Any] = Field(default_factory=dict)


class BulkIn(Schema):
    subscribers: list[BulkRow] = Field(..., min_length=1, max_length=10_000)
    groups: list[Id] = Field(default_factory=list, max_length=100, description="Every row joins these groups.")
    double_opt_in: bool = Field(False, description="New addresses are pending and each gets a confirmation mail.")


class BulkReject(Schema):
    index: int
    email: str
    reason: str


class BulkResult(Schema):
    created: int
    updated: int
    rejected: int
    rejects: list[BulkReject]


class Done(Schema):
    email: str
    changed: bool


class GroupIn(Schema):
    name: str = Field(..., min_length=1, max_length=150)
    description: str = Field("", max_length=2000)
    public: bool = False


class GroupPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=150)
    description: str | None = Field(None, max_length=2000)
    public: bool | None = None


class GroupOut(Schema):
    id: int
    name: str
    description: str
    public: bool
    subscribers: int
    created_at: datetime.datetime


class FieldIn(Schema):
    key: str = Field(..., min_length=1, max_length=50, pattern=r"^[-a-zA-Z0-9_]+$")
    label: str = Field(..., min_length=1, max_length=100)
    type: Literal["text", "number", "date", "boolean", "choice"] = "text"
    choices: list[str] = Field(default_factory=list, max_length=200)
    default: str = Field("", max_length=255)


class FieldOut(Schema):
    key: str
    label: str
    type: str
    choices: list[str]
    default: str


class SignupFormOut(Schema):
    id: int
    title: str
    consent_text: str
    fields: list[dict[str, Any]]
    honeypot_field: str
    stamp: str = Field(..., description="Send it back as 'rendered': the same fill-time check as the site's forms.")


class SignupAccepted(Schema):
    detail: str


class CampaignIn(Schema):
    page_id: Id
    name: str = Field("", max_length=255)
    all_subscribers: bool = False
    groups: list[Id] = Field(default_factory=list, max_length=100)
    exclude_groups: list[Id] = Field(default_factory=list, max_length=100)


class ScheduleIn(Schema):
    at: datetime.datetime | None = Field(None, description="When to send (in the future); null or absent: now.")


class CampaignOut(Schema):
    id: int
    name: str
    page_id: int | None
    subject: str
    status: Literal["draft", "scheduled", "sending", "paused", "sent", "cancelled", "failed"]
    all_subscribers: bool
    groups: list[Id]
    exclude_groups: list[Id]
    scheduled_at: datetime.datetime | None
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    recipient_count: int
    status_note: str
    created_at: datetime.datetime


class CampaignPage(Schema):
    items: list[CampaignOut]
    next_cursor: str | None


class ProgressOut(Schema):
    status: str
    total: int
    queued: int
    sending: int
    sent: int
    failed: int
    skipped: int
    remaining: int
    percent: float
    rate_per_minute: float | None
    eta_seconds: int | None
    finished: bool


class RateOut(Schema):
    key: str
    value: float | None
    numerator: int
    denominator: int


class StatisticsOut(Schema):
    recipients: int
    sent: int
    failed: int
    delivered: int
    opens: int
    unique_opens: int
    machine_opens: int
    clicks: int
    unique_clicks: int
    machine_clicks: int
    unsubscribes: int
    hard_bounces: int
    soft_bounces: int
    complaints: int
    rates: list[RateOut]
    updated_at: datetime.datetime | None


class EventOut(Schema):
    id: int
    kind: str
    at: datetime.datetime
    campaign_id: int
    email: str | None = Field(None, description="The recipient's address; null once the subscriber was erased.")
    link: int | None
    agent: str
    detail: str


class EventPage(Schema):
    items: list[EventOut]
    next_cursor: str | None
