"""The oracle's part for the behaviours of ``growth/reader_conditions.py``: random device / client / country on the
generated hits and random conversions, and their plain-Python evaluation from the raw events and conversion rows.

Tracking keeps, per delivery, the first value a person's open or click named (in the events' order), so the oracle
does the same from the events: a machine's hit (a privacy proxy, a pre-fetch within a second, a scanner) names
nothing, even when its event carries a value.
"""

import datetime

from wagtail.models import Page

from wagtail_newsletter.growth.goals import Conversion, Goal
from wagtail_newsletter.send.models import Agent, DeviceType, EventKind

DEVICE_NAMES = {DeviceType.COMPUTER: "computer", DeviceType.PHONE: "phone", DeviceType.TABLET: "tablet"}
CLIENTS = ["Apple Mail", "Gmail", "Outlook", "Thunderbird", "Firefox", ""]
COUNTRIES = ["FR", "DE", "CH", "US", ""]
DIMENSIONS = ("device", "client", "country")


def make_goals():
    root = Page.objects.get(depth=1)
    return [
        Goal.objects.get_or_create(page=root, trigger=trigger, defaults={"name": f"Goal {trigger}"})[0].pk
        for trigger in (Goal.VISIT, Goal.FORM)
    ]


def reader(rng):
    """A function giving each hit of one delivery its device, client and country: mostly one reader, sometimes a
    second one part way (the first that names a value is what counts), sometimes nothing known."""
    readers = [
        {
            "device": rng.choice([0, *DEVICE_NAMES]),
            "client": rng.choice(CLIENTS),
            "country": rng.choice(COUNTRIES),
        }
        for _ in range(2)
    ]
    switch = rng.random() < 0.3
    hits = [0]

    def values():
        hits[0] += 1
        return readers[1 if switch and hits[0] > 1 else 0]

    return values


def machine_values(agent):
    """What tracking's hit path names for a machine's hit (devices.describe): the privacy proxy's name, else nothing."""
    return {"device": 0, "client": "Apple Mail (privacy proxy)" if agent == Agent.PRIVACY_PROXY else "", "country": ""}


def make_conversions(rng, deliveries, goals):
    rows = []
    for delivery in deliveries:
        for goal in goals:
            if rng.random() < 0.12:
                at = delivery.sent_at + datetime.timedelta(days=1)
                rows.append(
                    Conversion(delivery=delivery, campaign_id=delivery.campaign_id, goal_id=goal, link=0, at=at)
                )
    Conversion.objects.bulk_create(rows)


class ReaderFacts:
    """(subscriber, campaign, value) of each dimension, and (subscriber, campaign, goal) of conversions."""

    def __init__(self, deliveries, campaigns, events):
        self.seen = {dimension: set() for dimension in DIMENSIONS}
        named = set()  # (delivery, dimension) already named by a person's hit
        for e in sorted(events, key=lambda e: e["id"]):
            delivery = deliveries[e["delivery_id"]]
            sent = campaigns[delivery["campaign_id"]]["started_at"]
            human = e["agent"] == Agent.BROWSER and e["at"] - sent >= datetime.timedelta(seconds=2)
            if e["kind"] not in (EventKind.OPEN, EventKind.CLICK) or not human:
                continue
            for dimension in DIMENSIONS:
                value = e[dimension]
                if value and (e["delivery_id"], dimension) not in named:
                    named.add((e["delivery_id"], dimension))
                    if dimension == "device":
                        value = DEVICE_NAMES[value]
                    self.seen[dimension].add((delivery["subscriber_id"], delivery["campaign_id"], value))
        self.converted = {
            (deliveries[d]["subscriber_id"], c, g)
            for d, c, g in Conversion.objects.values_list("delivery_id", "campaign_id", "goal_id")
        }

    def behaviour(self, node, person_id, campaigns):
        """True/False for a reader behaviour, None when ``node`` is not one."""
        kind = node["behaviour"]
        if kind == "converted":
            goal = node.get("goal")
            return any(p == person_id and c in campaigns and goal in (None, g) for p, c, g in self.converted)
        key = {"device": "devices", "client": "clients", "country": "countries"}.get(kind)
        if key is None:
            return None
        wanted = set(node[key])
        return any(p == person_id and c in campaigns and v in wanted for p, c, v in self.seen[kind])


def random_reader_behaviour(rng, ids, scope):
    kind = rng.choice(["device", "client", "country", "converted"])
    node = {"behaviour": kind, "scope": scope}
    if kind == "device":
        node["devices"] = rng.sample(list(DEVICE_NAMES.values()), rng.randint(1, 2))
    elif kind == "client":
        node["clients"] = rng.sample(CLIENTS[:-1] + ["Apple Mail (privacy proxy)"], rng.randint(1, 2))
    elif kind == "country":
        node["countries"] = rng.sample(COUNTRIES[:-1] + ["it"], rng.randint(1, 2))
    elif rng.random() < 0.7:
        node["goal"] = rng.choice(ids["goals"])
    return node
