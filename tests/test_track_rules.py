"""The machine-activity rules, each at its edges (plain functions: no database)."""

import datetime

import pytest

from wagtail_newsletter.track.models import Agent
from wagtail_newsletter.track.rules import Thresholds, burst_clicks, burst_size, is_machine_click, is_machine_open

SENT = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
LATER = SENT + datetime.timedelta(hours=3)
RULES = Thresholds(open_seconds=2, click_seconds=2, burst_links=3, burst_seconds=2)


def after(seconds, start=SENT):
    return start + datetime.timedelta(seconds=seconds)


# --- opens -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "agent, machine",
    [
        (Agent.BROWSER, False),
        (Agent.MAIL_PROXY, False),  # Gmail/Yahoo fetch the image when the reader opens the message
        (Agent.PRIVACY_PROXY, True),  # Apple MPP fetches whether or not anyone reads
        (Agent.SCANNER, True),
        (Agent.HEAD, True),
        (Agent.UNKNOWN, True),  # no user agent at all
    ],
)
def test_an_open_is_machine_by_its_agent(agent, machine):
    assert is_machine_open(agent, LATER, SENT, RULES) is machine


@pytest.mark.parametrize(
    "seconds, machine",
    [(-30, True), (0, True), (1.999999, True), (2, False), (2.000001, False), (3600, False)],
)
def test_an_open_right_after_sending_is_a_prefetch(seconds, machine):
    # Less than MACHINE_OPEN_SECONDS after sent_at (or before the worker wrote it): a gateway fetching images.
    assert is_machine_open(Agent.BROWSER, after(seconds), SENT, RULES) is machine
    assert is_machine_open(Agent.MAIL_PROXY, after(seconds), SENT, RULES) is machine


def test_an_open_of_a_delivery_without_send_time_is_judged_by_its_agent_only():
    assert is_machine_open(Agent.BROWSER, SENT, None, RULES) is False
    assert is_machine_open(Agent.PRIVACY_PROXY, SENT, None, RULES) is True


def test_thresholds_come_from_the_settings(settings):
    settings.WAGTAIL_NEWSLETTER = {
        **settings.WAGTAIL_NEWSLETTER,
        "MACHINE_OPEN_SECONDS": 10,
        "MACHINE_CLICK_SECONDS": 20,
        "SCANNER_BURST_LINKS": 5,
        "SCANNER_BURST_SECONDS": 4,
    }
    thresholds = Thresholds()
    assert is_machine_open(Agent.BROWSER, after(9.9), SENT, thresholds)
    assert not is_machine_open(Agent.BROWSER, after(10), SENT, thresholds)
    assert is_machine_click(Agent.BROWSER, after(19.9), SENT, False, thresholds)
    assert not is_machine_click(Agent.BROWSER, after(20), SENT, False, thresholds)
    assert (thresholds.burst_links, thresholds.burst_window) == (5, datetime.timedelta(seconds=4))


# --- clicks ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "agent, machine",
    [
        (Agent.BROWSER, False),
        (Agent.MAIL_PROXY, False),
        (Agent.PRIVACY_PROXY, True),
        (Agent.SCANNER, True),
        (Agent.HEAD, True),  # link checkers look without following
        (Agent.UNKNOWN, True),
    ],
)
def test_a_click_is_machine_by_its_agent(agent, machine):
    assert is_machine_click(agent, LATER, SENT, False, RULES) is machine


@pytest.mark.parametrize("seconds, machine", [(-1, True), (0, True), (1.999999, True), (2, False), (2.5, False)])
def test_a_click_right_after_sending_is_a_scanner(seconds, machine):
    assert is_machine_click(Agent.BROWSER, after(seconds), SENT, False, RULES) is machine


def test_a_click_in_a_burst_is_machine_whatever_its_agent():
    assert is_machine_click(Agent.BROWSER, LATER, SENT, True, RULES)
    assert not is_machine_click(Agent.BROWSER, LATER, None, False, RULES)


# --- bursts ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "web_links, burst_links, size",
    [(0, 3, 2), (1, 3, 2), (2, 3, 2), (3, 3, 3), (10, 3, 3), (4, 5, 4), (10, 1, 2)],
)
def test_burst_size_is_every_link_when_there_are_few_but_at_least_two(web_links, burst_links, size):
    assert burst_size(web_links, burst_links) == size


def clicks(*pairs):
    """(seconds after LATER, link) -> (at, link, key), keyed by position."""
    return [(after(seconds, LATER), link, key) for key, (seconds, link) in enumerate(pairs)]


WINDOW = datetime.timedelta(seconds=2)


def test_three_links_within_the_window_are_a_burst():
    assert burst_clicks(clicks((0, 0), (0.4, 1), (1.2, 2)), 3, WINDOW) == {0, 1, 2}


def test_two_links_are_not_a_burst_when_three_are_needed():
    assert burst_clicks(clicks((0, 0), (0.1, 1), (0.2, 1), (0.3, 0)), 3, WINDOW) == set()


def test_a_burst_spans_exactly_the_window_and_not_a_microsecond_more():
    assert burst_clicks(clicks((0, 0), (1, 1), (2, 2)), 3, WINDOW) == {0, 1, 2}
    assert burst_clicks(clicks((0, 0), (1, 1), (2.000001, 2)), 3, WINDOW) == set()


def test_one_link_clicked_many_times_is_a_reader_not_a_burst():
    assert burst_clicks(clicks(*[(n / 10, 4) for n in range(10)]), 2, WINDOW) == set()


def test_with_two_web_links_both_clicked_at_once_is_a_burst():
    size = burst_size(2, 3)
    assert burst_clicks(clicks((0, 0), (0.5, 1)), size, WINDOW) == {0, 1}
    assert burst_clicks(clicks((0, 0), (30, 1)), size, WINDOW) == set()  # a reader clicking both, in turn


def test_with_one_web_link_there_is_never_a_burst():
    size = burst_size(1, 3)
    assert burst_clicks(clicks((0, 0), (0.1, 0), (0.2, 0)), size, WINDOW) == set()


def test_clicks_before_and_after_a_burst_stay_human():
    found = burst_clicks(clicks((-60, 0), (0, 0), (0.5, 1), (1, 2), (2.5, 1), (600, 2)), 3, WINDOW)
    assert found == {1, 2, 3}


def test_a_slow_walk_through_the_links_is_no_burst_whichever_click_is_judged():
    # Every 2 s a new link: any 2-second window holds two links, never three.
    assert burst_clicks(clicks((0, 0), (2, 1), (4, 2), (6, 3)), 3, WINDOW) == set()


def test_burst_clicks_do_not_depend_on_the_order_they_are_given_in():
    given = clicks((1, 2), (0, 0), (600, 1), (0.5, 1))
    assert burst_clicks(given, 3, WINDOW) == burst_clicks(list(reversed(given)), 3, WINDOW) == {0, 1, 3}
