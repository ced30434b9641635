"""Segments checked against plain Python: seeded random data (subscribers, custom fields, groups, campaigns, opens and
clicks by people and machines, bounces), random nested conditions, and an evaluation of the conditions that reads
the same data as plain values — the raw events, not tracking's aggregated rows — so SQL and Python are compared.
"""

import datetime
import random

from django.utils import timezone

from tests import segment_oracle_readers as readers
from wagtail_newsletter.audience.models import Field, Group, Membership, Subscriber
from wagtail_newsletter.compose.compiled import compile_email
from wagtail_newsletter.compose.merge_tags import standard_variables
from wagtail_newsletter.send.models import Agent, Campaign, Delivery, DeliveryStatus, Event, EventKind

NOW = datetime.datetime(2026, 6, 15, 12, 0, tzinfo=datetime.UTC)
CITIES = ["Lyon", "Paris", "lyon", "Nantes", "Saint-Lyon", ""]
DOMAINS = ["example.org", "example.com", "mail.example.net", "lyon.fr"]
LANGUAGES = ["", "en", "fr", "de"]
STATUSES = ["pending", "subscribed", "subscribed", "unsubscribed", "bounced"]
SOURCES = ["form", "import", "admin"]
FIELDS = [  # key, type, choices
    ("city", "text", ""),
    ("age", "number", ""),
    ("birthday", "date", ""),
    ("member", "boolean", ""),
    ("plan", "choice", "Free\nPro\nTeam"),
]


def _day(rng, spread=800):
    return (NOW.date() - datetime.timedelta(days=rng.randint(-60, spread))).isoformat()


def _custom_data(rng):
    data = {}
    if rng.random() < 0.8:
        data["city"] = rng.choice(CITIES)
    if rng.random() < 0.7:
        data["age"] = rng.choice([rng.randint(10, 90), rng.randint(10, 90) + 0.5])
    if rng.random() < 0.1:
        data["age"] = None
    if rng.random() < 0.7:
        data["birthday"] = _day(rng, 20000)
    if rng.random() < 0.6:
        data["member"] = rng.random() < 0.5
    if rng.random() < 0.6:
        data["plan"] = rng.choice(["Free", "Pro", "Team"])
    return data


def _compiled(links):
    variables = {variable.name: variable for variable in standard_variables("en", "https://news.example.org")}
    body = "".join(f'<p><a href="{url}">Link {n}</a></p>' for n, url in enumerate(links))
    document = f"<!DOCTYPE html><html><head><title>N</title></head><body>{body}</body></html>"
    return compile_email(
        document, subject="N", base_url="https://news.example.org", variables=variables, language="en"
    ).to_dict()


def generate(seed, subscribers=80, campaigns=6):
    """Write a random audience and its campaign history; returns the ids made."""
    rng = random.Random(seed)
    for key, kind, choices in FIELDS:
        Field.objects.get_or_create(key=key, defaults={"label": key.title(), "type": kind, "choices": choices})
    groups = [Group.objects.create(name=f"G{seed}-{n}") for n in range(4)]
    people = []
    for n in range(subscribers):
        created = NOW - datetime.timedelta(days=rng.randint(0, 400), hours=rng.randint(0, 23))
        confirmed = created + datetime.timedelta(hours=rng.randint(0, 100)) if rng.random() < 0.7 else None
        people.append(
            Subscriber(
                email=f"p{n}.{rng.choice(['a', 'b', 'lyon'])}@{rng.choice(DOMAINS)}",
                first_name=rng.choice(["Ann", "Bob", "anna", ""]),
                last_name=rng.choice(["Smith", "Lyon", ""]),
                language=rng.choice(LANGUAGES),
                status=rng.choice(STATUSES),
                source=rng.choice(SOURCES),
                created_at=created,
                first_subscribed_at=confirmed,
                data=_custom_data(rng),
            )
        )
    Subscriber.objects.bulk_create(people)
    people = list(Subscriber.objects.order_by("pk"))
    Membership.objects.bulk_create(
        Membership(subscriber=person, group=group) for person in people for group in groups if rng.random() < 0.35
    )
    sent, goals = [], readers.make_goals()
    for n in range(campaigns):
        started = NOW - datetime.timedelta(days=5 + 12 * (campaigns - n))
        links = [f"https://example.org/{word}-{n}" for word in rng.sample(["concert", "shop", "news", "Concerts"], 3)]
        campaign = Campaign.objects.create(
            name=f"C{n}",
            compiled=_compiled(links),
            status="sent",
            started_at=started,
            follow_up="non_openers" if n == 2 else "",
        )
        sent.append(campaign)
        recipients = [p for p in people if rng.random() < 0.6]
        Delivery.objects.bulk_create(
            Delivery(
                campaign=campaign,
                subscriber=p,
                status=DeliveryStatus.SENT if rng.random() < 0.9 else DeliveryStatus.FAILED,
                sent_at=started,
            )
            for p in recipients
        )
        events = []
        delivered = list(Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.SENT))
        for delivery in delivered:
            events += _events(rng, delivery, started, len(links))
        Event.objects.bulk_create(events)
        readers.make_conversions(rng, delivered, goals)
    return {"groups": [g.pk for g in groups], "campaigns": [c.pk for c in sent], "goals": goals}


def _events(rng, delivery, sent_at, links):
    """A person's opens and clicks come an hour or more after sending with a browser's agent; machines' with a proxy
    or scanner agent, or within a second (a gateway's pre-fetch). At most two clicks: never a scanner burst."""
    events, read_with = [], readers.reader(rng)

    def add(kind, at, agent=Agent.BROWSER, link=None):
        values = read_with() if agent == Agent.BROWSER else readers.machine_values(agent)
        events.append(Event(campaign_id=delivery.campaign_id, delivery_id=delivery.pk, kind=kind, at=at, agent=agent,
                            link=link, **values))  # fmt: skip

    later = sent_at + datetime.timedelta(hours=rng.randint(1, 48))
    roll = rng.random()
    if roll < 0.3:
        add(EventKind.OPEN, later)
    elif roll < 0.45:
        add(EventKind.OPEN, sent_at + datetime.timedelta(seconds=1))  # pre-fetch
    elif roll < 0.6:
        add(EventKind.OPEN, later, agent=Agent.PRIVACY_PROXY)
    roll = rng.random()
    if roll < 0.2:
        add(EventKind.CLICK, later + datetime.timedelta(hours=1), link=rng.randrange(links))
    elif roll < 0.3:
        add(EventKind.CLICK, later, agent=Agent.SCANNER, link=rng.randrange(links))
    elif roll < 0.35:
        add(EventKind.CLICK, sent_at + datetime.timedelta(seconds=1), link=rng.randrange(links))
    roll = rng.random()
    if roll < 0.05:
        add(EventKind.HARD_BOUNCE, later)
    elif roll < 0.1:
        add(EventKind.SOFT_BOUNCE, later)
    return events


# --- the plain-Python side ------------------------------------------------------------------------------------------


class World:
    """Everything the conditions can look at, read once as plain values."""

    def __init__(self, now=NOW):
        self.now = now
        self.today = timezone.localtime(now).date()
        self.fields = {f.key: f.type for f in Field.objects.all()}
        self.people = list(Subscriber.objects.values())
        self.groups = {}
        for subscriber_id, group_id in Membership.objects.values_list("subscriber_id", "group_id"):
            self.groups.setdefault(subscriber_id, set()).add(group_id)
        self.campaigns = {c["id"]: c for c in Campaign.objects.values("id", "started_at", "follow_up", "compiled")}
        self.deliveries = {d["id"]: d for d in Delivery.objects.values("id", "campaign_id", "subscriber_id", "status")}
        self.opened, self.clicked, self.links, self.bounced, self.hard = set(), set(), set(), set(), set()
        events = list(Event.objects.values("id", "delivery_id", "kind", "at", "agent", "link", *readers.DIMENSIONS))
        self.readers = readers.ReaderFacts(self.deliveries, self.campaigns, events)
        for e in events:
            delivery = self.deliveries[e["delivery_id"]]
            key = (delivery["subscriber_id"], delivery["campaign_id"])
            sent = self.campaigns[delivery["campaign_id"]]["started_at"]
            human = e["agent"] == Agent.BROWSER and e["at"] - sent >= datetime.timedelta(seconds=2)
            if e["kind"] == EventKind.OPEN and human:
                self.opened.add(key)
            elif e["kind"] == EventKind.CLICK and human:
                self.opened.add(key)
                self.clicked.add(key)
                self.links.add((*key, e["link"]))
            elif e["kind"] in (EventKind.HARD_BOUNCE, EventKind.SOFT_BOUNCE):
                self.bounced.add(key)
                if e["kind"] == EventKind.HARD_BOUNCE:
                    self.hard.add(key)
        self.received = {
            (d["subscriber_id"], d["campaign_id"])
            for d in self.deliveries.values()
            if d["status"] == DeliveryStatus.SENT
        }

    def matching(self, conditions):
        return {
            p["id"] for p in self.people if p["deleted_at"] is None and (not conditions or self.check(conditions, p))
        }

    def check(self, node, person):
        if "and" in node:
            return all(self.check(child, person) for child in node["and"])
        if "or" in node:
            return any(self.check(child, person) for child in node["or"])
        if "not" in node:
            return not self.check(node["not"], person)
        if "groups" in node:
            mine = self.groups.get(person["id"], set())
            wanted = set(node["ids"])
            return {"any": bool(mine & wanted), "all": wanted <= mine, "none": not mine & wanted}[node["groups"]]
        if "field" in node:
            return self.field(node, person)
        return self.behaviour(node, person)

    # fields

    def field(self, node, person):
        name, op, value = node["field"], node["op"], node.get("value")
        if name.startswith("data."):
            return self.custom(name[5:], op, value, person["data"])
        if name in ("status", "source"):
            return person[name] in value
        if name in ("created_at", "first_subscribed_at"):
            moment = person[name]
            if op == "is_empty":
                return moment is None
            if moment is None:
                return False
            if op == "in_last_days":
                return moment >= self.now - datetime.timedelta(days=value)
            return compare(timezone.localtime(moment).date().isoformat(), op, value)
        text = person["email"].partition("@")[2] if name == "email_domain" else person[name]
        return text_op(text, op, value)

    def custom(self, key, op, value, data):
        kind = self.fields[key]
        stored = data.get(key)
        if op == "is_empty":
            return stored is None or stored == ""
        if kind == "boolean":
            return stored is (op == "is_true")
        if kind == "text":
            if isinstance(stored, bool) or not isinstance(stored, (str, int, float)):
                return False
            return text_op(str(stored), op, value)
        if kind == "choice":
            return isinstance(stored, str) and stored in value
        if kind == "number":
            if isinstance(stored, bool) or not isinstance(stored, (int, float)):
                return False
            return compare(stored, op, value)
        if not isinstance(stored, str) or not stored:
            return False
        if op == "in_last_days":
            op, value = "between", [(self.today - datetime.timedelta(days=value)).isoformat(), self.today.isoformat()]
        elif op == "in_next_days":
            op, value = "between", [self.today.isoformat(), (self.today + datetime.timedelta(days=value)).isoformat()]
        elif op == "anniversary_within_days":
            days = {(self.today + datetime.timedelta(days=n)) for n in range(value + 1)}
            month_days = {d.strftime("%m-%d") for d in days}
            if any(d.month == 2 and d.day == 28 and (d + datetime.timedelta(days=1)).month == 3 for d in days):
                month_days.add("02-29")
            return stored[5:10] in month_days
        return compare(stored, op, value)

    # behaviour

    def scope(self, scope):
        started = {pk: c for pk, c in self.campaigns.items() if c["started_at"] is not None}
        if "campaign" in scope:
            return {scope["campaign"]}
        if "last_campaigns" in scope:
            ordered = sorted(
                (c for c in started.values() if not c["follow_up"]),
                key=lambda c: (c["started_at"], c["id"]),
                reverse=True,
            )
            return {c["id"] for c in ordered[: scope["last_campaigns"]]}
        if "last_days" in scope:
            since = self.now - datetime.timedelta(days=scope["last_days"])
            return {pk for pk, c in started.items() if c["started_at"] >= since}
        return set(self.campaigns)

    def behaviour(self, node, person):
        kind, campaigns, pk = node["behaviour"], self.scope(node["scope"]), person["id"]

        def any_in(pairs):
            return any((pk, c) in pairs for c in campaigns)

        reader = self.readers.behaviour(node, pk, campaigns)
        if reader is not None:
            return reader
        if kind == "received":
            return any_in(self.received)
        if kind == "opened":
            return any_in(self.opened)
        if kind == "clicked":
            return any_in(self.clicked)
        if kind in ("not_opened", "unengaged"):
            return any_in(self.received) and not any_in(self.opened)
        if kind == "not_clicked":
            return any_in(self.received) and not any_in(self.clicked)
        if kind == "bounced":
            return any_in(self.hard if node.get("hard") else self.bounced)
        if kind == "clicked_link":
            return (pk, node["scope"]["campaign"], node["link"]) in self.links
        if kind == "clicked_link_containing":
            needle = node["text"].lower()
            for c in campaigns:
                for index, original, final, _label in (self.campaigns[c]["compiled"] or {}).get("links", []):
                    if (needle in original.lower() or needle in final.lower()) and (pk, c, index) in self.links:
                        return True
            return False
        raise ValueError(kind)


def text_op(text, op, value):
    text = text.lower()
    if op == "is":
        return text == value.lower()
    if op == "contains":
        return value.lower() in text
    if op == "starts_with":
        return text.startswith(value.lower())
    if op == "ends_with":
        return text.endswith(value.lower())
    if op == "is_empty":
        return text == ""
    if op == "is_one_of":
        return text in {v.lower() for v in value}
    raise ValueError(op)


def compare(stored, op, value):
    if op == "eq":
        return stored == value
    if op == "lt":
        return stored < value
    if op == "gt":
        return stored > value
    if op == "between":
        return value[0] <= stored <= value[1]
    raise ValueError(op)


# --- random conditions ----------------------------------------------------------------------------------------------


def random_leaf(rng, ids):
    roll = rng.random()
    if roll < 0.2:
        return {"groups": rng.choice(["any", "all", "none"]), "ids": rng.sample(ids["groups"], rng.randint(1, 3))}
    if roll < 0.5:
        return random_behaviour(rng, ids)
    return random_field(rng)


def random_behaviour(rng, ids):
    if rng.random() < 0.3:
        return readers.random_reader_behaviour(rng, ids, _random_scope(rng, ids))
    kind = rng.choice(["received", "opened", "clicked", "not_opened", "not_clicked", "bounced", "clicked_link",
                       "clicked_link_containing", "unengaged"])  # fmt: skip
    node = {"behaviour": kind, "scope": _random_scope(rng, ids)}
    if kind == "clicked_link":
        node["scope"], node["link"] = {"campaign": rng.choice(ids["campaigns"])}, rng.randrange(3)
    elif kind == "clicked_link_containing":
        node["text"] = rng.choice(["concert", "SHOP", "news-1", "nothing"])
    elif kind == "bounced" and rng.random() < 0.5:
        node["hard"] = True
    elif kind == "unengaged":
        node["scope"] = {"last_campaigns": rng.randint(1, 4)}
    return node


def _random_scope(rng, ids):
    return rng.choice([{}, {"campaign": rng.choice(ids["campaigns"])}, {"last_campaigns": rng.randint(1, 4)},
                       {"last_days": rng.choice([10, 30, 60, 365])}])  # fmt: skip


def random_field(rng):
    name = rng.choice(["email", "email_domain", "first_name", "last_name", "language", "status", "source",
                       "created_at", "first_subscribed_at", "data.city", "data.age", "data.birthday", "data.member",
                       "data.plan"])  # fmt: skip
    today = NOW.date()
    if name in ("status", "source"):
        options = ["pending", "subscribed", "unsubscribed", "bounced"] if name == "status" else SOURCES
        return {"field": name, "op": "is_one_of", "value": rng.sample(options, rng.randint(1, 2))}
    if name in ("created_at", "first_subscribed_at"):
        op = rng.choice(["eq", "lt", "gt", "between", "in_last_days"] + (["is_empty"] if name[0] == "f" else []))
        day = (today - datetime.timedelta(days=rng.randint(0, 400))).isoformat()
        value = {"in_last_days": rng.randint(0, 200), "between": sorted([day, _day(rng, 400)]), "is_empty": None}
        return _node(name, op, value.get(op, day))
    if name == "data.member":
        return {"field": name, "op": rng.choice(["is_true", "is_false"])}
    if name == "data.plan":
        op = rng.choice(["is_one_of", "is_empty"])
        return _node(name, op, rng.sample(["Free", "Pro", "Team"], rng.randint(1, 2)) if op == "is_one_of" else None)
    if name == "data.age":
        op = rng.choice(["eq", "lt", "gt", "between", "is_empty"])
        number = rng.choice([rng.randint(10, 90), 40.5])
        value = {"between": sorted([rng.randint(10, 90), rng.randint(10, 90)]), "is_empty": None}
        return _node(name, op, value.get(op, number))
    if name == "data.birthday":
        op = rng.choice(["eq", "lt", "gt", "between", "in_last_days", "in_next_days", "anniversary_within_days",
                         "is_empty"])  # fmt: skip
        day = _day(rng, 20000)
        value = {"between": sorted([day, _day(rng, 20000)]), "is_empty": None}
        if op in ("in_last_days", "in_next_days", "anniversary_within_days"):
            value[op] = rng.randint(0, 120)
        return _node(name, op, value.get(op, day))
    op = rng.choice(["is", "contains", "starts_with", "ends_with", "is_empty", "is_one_of"])
    words = {"email": ["p1", "lyon", "example", ".org"], "email_domain": DOMAINS + ["example", "lyon"],
             "first_name": ["ann", "Bob", "an"], "last_name": ["lyon", "smith", "S"], "language": LANGUAGES[1:],
             "data.city": ["Lyon", "lyon", "yon", "Paris", "Saint"]}[name]  # fmt: skip
    value = rng.sample(words, 2) if op == "is_one_of" else (None if op == "is_empty" else rng.choice(words))
    return _node(name, op, value)


def _node(name, op, value):
    return {"field": name, "op": op} if value is None else {"field": name, "op": op, "value": value}


def random_conditions(rng, ids, depth=0):
    roll = rng.random()
    if depth >= 3 or roll < 0.35:
        return random_leaf(rng, ids)
    if roll < 0.5:
        return {"not": random_conditions(rng, ids, depth + 1)}
    return {rng.choice(["and", "or"]): [random_conditions(rng, ids, depth + 1) for _ in range(rng.randint(1, 3))]}
