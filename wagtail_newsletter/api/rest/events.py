"""The event log export: what happened to each message (opens, clicks, unsubscribes, bounces, complaints), oldest
first, cursor-paginated by the event's id so that a program can poll for what is new since its last page."""

import datetime

from ninja import Query, Router

from ...send.models import Agent, Event, EventKind
from . import auth, cursors
from .schemas import ID_QUERY, EventPage
from .validation import utc_time

router = Router(tags=["events"])
KIND_NAMES = {kind.value: kind.name.lower() for kind in EventKind}
AGENT_NAMES = {agent.value: agent.name.lower() for agent in Agent}
KINDS = {name: value for value, name in KIND_NAMES.items()}


_SINCE = Query(None, description="Only events at or after this time.")
_KIND = Query(None, description="One of: " + ", ".join(KINDS), pattern="^(" + "|".join(KINDS) + ")$")


@router.get("/events", response=EventPage, auth=auth.read, summary="Export events")
def list_events(
    request,
    since: datetime.datetime | None = _SINCE,
    campaign: int | None = ID_QUERY,
    kind: str | None = _KIND,
    cursor: str | None = Query(None, max_length=100),
    limit: int = Query(500, ge=1, le=cursors.MAX_LIMIT),
):
    """Events in the order they were recorded; keep ``next_cursor`` and ask again later for the newer ones (it is
    null once you have them all). ``email`` is null for a subscriber erased since."""
    queryset = Event.objects.all()
    if since is not None:
        queryset = queryset.filter(at__gte=utc_time(since, ["query", "since"]))
    if campaign is not None:
        queryset = queryset.filter(campaign_id=campaign)
    if kind:
        queryset = queryset.filter(kind=KINDS[kind])
    queryset = queryset.values("id", "kind", "at", "campaign_id", "delivery__subscriber__email", "link", "agent",
                               "detail")  # fmt: skip
    rows, next_cursor = cursors.page(queryset, cursor, limit)
    items = [
        {"id": row["id"], "kind": KIND_NAMES.get(row["kind"], str(row["kind"])), "at": row["at"],
         "campaign_id": row["campaign_id"], "email": row["delivery__subscriber__email"], "link": row["link"],
         "agent": AGENT_NAMES.get(row["agent"], str(row["agent"])), "detail": row["detail"]}
        for row in rows
    ]  # fmt: skip
    return {"items": items, "next_cursor": next_cursor}
