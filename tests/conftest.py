"""Shared fixtures: a real SMTP server (aiosmtpd) and helpers to make audience rows."""

import contextlib
import email
import email.policy
import socket
import threading

import pytest
from aiosmtpd.controller import Controller
from django.core.cache import caches
from django.utils import translation

# Fixtures of the subscription form tests (a form snippet, a valid submission) and of the browser tests.
pytest_plugins = ["tests.signup_fixtures", "tests.live_site", "tests.compose_editor_fixtures"]


class ScriptedSmtpHandler:
    """An aiosmtpd handler whose answers a test can script: ``rcpt_answer(address)`` returns an answer to RCPT (None
    accepts it); ``pipelining`` advertises PIPELINING (aiosmtpd reads pipelined commands one by one), so the sending
    engine's pipelined path is tested, and ``pipelining = False`` its plain path."""

    def __init__(self):
        self.rcpt_answer = None
        self.pipelining = True

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        answer = self.rcpt_answer(address) if self.rcpt_answer else None
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"


class RecordingHandler(ScriptedSmtpHandler):
    """Keeps every message it receives; ``reply`` (an answer to DATA) injects failures too."""

    def __init__(self):
        super().__init__()
        self.messages = []
        self.reply = None
        self.received = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        if self.reply:
            return self.reply
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.received:
            self.messages.append(
                {"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": message, "raw": envelope.content}
            )
            self.received.notify_all()
        return "250 OK"

    def wait_for(self, count, timeout=30):
        with self.received:
            self.received.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
        return self.messages


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1; Django's SMTP backend is pointed at it."""
    with serving_smtp(RecordingHandler()) as handler:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = handler.port
        yield handler


@contextlib.contextmanager
def serving_smtp(handler):
    """``handler`` behind a real aiosmtpd server on 127.0.0.1 (its port in ``handler.port``) until the block ends."""
    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


def pytest_collection_modifyitems(items):
    """Every transactional test starts from the migrated database, with serialized rollback.

    A transactional test ends with a flush. After a plain one, ``post_migrate`` makes the content types again under
    new ids, and a later serialized test cannot load its own (``id=1``, wagtailcore.page) beside them; after a
    serialized one, nothing is made again, and a later plain test finds no content type, no Wagtail root and no site.
    Either way the outcome depended on the order of the files. Serialized for all of them, each one starts from what
    the migrations made and leaves empty tables for the next to fill the same way.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        kwargs = dict(marker.kwargs) if marker else {}
        fixtures = set(getattr(item, "fixturenames", ()))
        transactional = kwargs.get("transaction") or kwargs.get("reset_sequences") or fixtures & TRANSACTIONAL
        if transactional and not kwargs.get("serialized_rollback"):
            kwargs.update(transaction=True, serialized_rollback=True)
            item.add_marker(pytest.mark.django_db(**kwargs), append=False)


TRANSACTIONAL = {"transactional_db", "live_server"}


@pytest.fixture(autouse=True)
def _default_language():
    """A test that requested a page in French must not leave French active for the next one."""
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _clear_caches():
    """Rate-limit counters live in the cache: every test starts with none."""
    for cache in caches.all():
        cache.clear()
    yield
