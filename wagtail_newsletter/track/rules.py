"""Which opens and clicks were made by machines (privacy proxies, pre-fetchers, link scanners) rather than readers.

Plain functions over plain values, so that the aggregation and the tests that recount events apply the very same
rules. The thresholds are settings (see docs/developers/tracking.md for why each rule exists):

- MACHINE_OPEN_SECONDS: an open this soon after the message was handed to the relay is a gateway's pre-fetch;
- MACHINE_CLICK_SECONDS: likewise for a click (a link scanner at delivery time);
- SCANNER_BURST_LINKS / SCANNER_BURST_SECONDS: clicks on this many different links of one message (or on all of
  them, when the message has fewer, but at least 2) within this many seconds are a scanner following every link.
"""

from datetime import timedelta

from ..conf import newsletter_settings
from .models import Agent

# Apple Mail Privacy Protection fetches images whether or not anyone reads; scanners, link checkers (HEAD) and
# clients that send no user agent at all are not people. Gmail's and Yahoo's proxies (MAIL_PROXY) fetch when a
# person opens the message: those opens are human.
MACHINE_AGENTS = frozenset({Agent.PRIVACY_PROXY, Agent.SCANNER, Agent.HEAD, Agent.UNKNOWN})


class Thresholds:
    """The rules' settings, read once (a chunk of events is classified with the same numbers)."""

    __slots__ = ("burst_links", "burst_window", "click_delay", "open_delay")

    def __init__(self, open_seconds=None, click_seconds=None, burst_links=None, burst_seconds=None):
        settings = newsletter_settings
        self.open_delay = timedelta(seconds=_given(open_seconds, settings.MACHINE_OPEN_SECONDS))
        self.click_delay = timedelta(seconds=_given(click_seconds, settings.MACHINE_CLICK_SECONDS))
        self.burst_links = _given(burst_links, settings.SCANNER_BURST_LINKS)
        self.burst_window = timedelta(seconds=_given(burst_seconds, settings.SCANNER_BURST_SECONDS))


def _given(value, default):
    return default if value is None else value


def too_soon(at, sent_at, delay):
    """Whether a hit at ``at`` came less than ``delay`` after the message was sent (also: before it was marked sent,
    which happens when a gateway fetches while the worker is still writing its batch). Unknown ``sent_at``: no."""
    return sent_at is not None and at - sent_at < delay


def is_machine_open(agent, at, sent_at, thresholds):
    return agent in MACHINE_AGENTS or too_soon(at, sent_at, thresholds.open_delay)


def is_machine_click(agent, at, sent_at, in_burst, thresholds):
    """``in_burst``: whether the click belongs to a scanner burst (see ``burst_clicks``)."""
    return in_burst or agent in MACHINE_AGENTS or too_soon(at, sent_at, thresholds.click_delay)


def burst_size(web_links, burst_links):
    """How many different links clicked at once make a burst, for a message with ``web_links`` tracked links:
    SCANNER_BURST_LINKS, or every link when the message has fewer, but never less than 2 (one link clicked once is
    what readers do; a message with a single link is never judged by this rule)."""
    return max(2, min(burst_links, web_links))


def burst_clicks(clicks, size, window):
    """The keys of the clicks that belong to a burst, among ``clicks`` of ONE delivery: ``(at, link, key)`` tuples
    (any order, every click of the delivery near the ones to judge, whatever their agent).

    A burst is a set of clicks on at least ``size`` different links, the first and last at most ``window`` apart.
    Every window starting at a click is tried (the largest window starting there contains all smaller ones), so a
    click is machine exactly when some burst contains it, whichever click is judged first."""
    clicks = sorted(clicks, key=lambda click: (click[0], click[2]))
    machine = set()
    if len(clicks) < size:
        return machine
    per_link = {}
    end = 0  # clicks[start:end] is the window starting at clicks[start]
    marked_until = 0  # clicks[:marked_until] (from some start on) are already in the result
    for start, (at, _link, _key) in enumerate(clicks):
        while end < len(clicks) and clicks[end][0] - at <= window:
            link = clicks[end][1]
            per_link[link] = per_link.get(link, 0) + 1
            end += 1
        if len(per_link) >= size:
            for position in range(max(start, marked_until), end):
                machine.add(clicks[position][2])
            marked_until = end
        link = clicks[start][1]
        per_link[link] -= 1
        if not per_link[link]:
            del per_link[link]
    return machine
