"""The SMTP transport's pipelining (RFC 2920 §3.1): the next message's MAIL/RCPT/DATA travel in the same write as
this message's body, so a message costs one round trip; refusals, a refused body and an abandoned announcement keep
every message exactly once and never deliver an empty one.

A small SMTP server on a raw socket (aiosmtpd reads pipelined commands one by one and cannot tell what arrived
together): after the end of each body it looks, for up to half a second, whether the client's next command is already
there before it answers.
"""

import select
import socket
import socketserver
import threading

import pytest
from django.core.mail.backends.smtp import EmailBackend

from wagtail_newsletter.send.transport import PERMANENT, SmtpTransport, TransportError


class PipeliningServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), SessionHandler)
        self.messages = []  # (sender, recipients, body bytes) accepted
        self.announced_with_body = []  # per body: was the next command already sent before our answer?
        self.refuse_rcpt = set()
        self.refuse_body_containing = b""
        self.lock = threading.Lock()


class Lines:
    """Lines from a socket, with its own buffer so that "has the client sent more already?" can be asked."""

    def __init__(self, sock):
        self.sock, self.buffer = sock, b""

    def readline(self):
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                return b""
            self.buffer += chunk
        line, _sep, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"

    def more_within(self, seconds):
        """Whether the client's next bytes are here before we answer (they are when they came in the same write)."""
        if self.buffer:
            return True
        readable, _w, _x = select.select([self.sock], [], [], seconds)
        return bool(readable)


class SessionHandler(socketserver.StreamRequestHandler):
    def handle(self):
        server, out = self.server, self.wfile
        self.lines = Lines(self.connection)
        out.write(b"220 pipelining test server\r\n")
        sender, recipients = None, []
        while line := self.lines.readline():
            command = line.rstrip(b"\r\n")
            verb = command[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                out.write(b"250-test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            elif verb == b"MAIL":
                sender, recipients = command[10:].strip(b"<>"), []
                out.write(b"250 2.1.0 OK\r\n")
            elif verb == b"RCPT":
                address = command[8:].strip(b"<>")
                if address in server.refuse_rcpt:
                    out.write(b"550 5.1.1 No such user\r\n")
                else:
                    recipients.append(address)
                    out.write(b"250 2.1.5 OK\r\n")
            elif verb == b"DATA":
                if sender is None or not recipients:
                    out.write(b"554 5.5.1 No valid recipients\r\n")
                    continue
                out.write(b"354 go ahead\r\n")
                out.flush()
                body = self._read_body()
                if body is None:  # the client hung up mid-DATA: nothing is delivered
                    return
                following = self.lines.more_within(0.5)
                with server.lock:
                    server.announced_with_body.append(following)
                    if server.refuse_body_containing and server.refuse_body_containing in body:
                        out.write(b"550 5.7.0 Content refused\r\n")
                    else:
                        server.messages.append((sender, recipients, body))
                        out.write(b"250 2.0.0 queued\r\n")
                sender, recipients = None, []
            elif verb == b"RSET":
                sender, recipients = None, []
                out.write(b"250 OK\r\n")
            elif verb == b"QUIT":
                out.write(b"221 bye\r\n")
                return
            else:
                out.write(b"502 5.5.2 unknown\r\n")
            out.flush()

    def _read_body(self):
        lines = []
        while True:
            line = self.lines.readline()
            if not line:
                return None
            if line == b".\r\n":
                return b"".join(lines)
            lines.append(line[1:] if line.startswith(b"..") else line)


@pytest.fixture
def relay():
    server = PipeliningServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def transport_to(relay):
    return SmtpTransport(EmailBackend(host="127.0.0.1", port=relay.server_address[1], use_tls=False, timeout=5))


def message(number):
    return (
        f"From: news@example.org\r\nTo: reader{number}@example.net\r\nSubject: Issue {number}\r\n\r\n"
        f".a line that starts with a dot\r\nbody of message {number}\r\n"
    ).encode()


def envelope(number):
    return (f"bounces+{number}@example.org", f"reader{number}@example.net")


def test_the_next_envelope_travels_with_the_body(relay):
    transport = transport_to(relay)
    for number in range(1, 4):
        following = envelope(number + 1) if number < 3 else None
        transport.submit(*envelope(number), message(number), next_envelope=following)
        assert transport.finish()[0] == 250
    transport.close()
    assert [recipients for _sender, recipients, _body in relay.messages] == [
        [b"reader1@example.net"],
        [b"reader2@example.net"],
        [b"reader3@example.net"],
    ]
    assert relay.messages[0][2].startswith(b"From: news@example.org") and b"\r\n.a line" in relay.messages[0][2]
    # Bodies 1 and 2 carried the next MAIL/RCPT/DATA with them; body 3 was the last.
    assert relay.announced_with_body[:2] == [True, True]


def test_without_an_announcement_the_client_waits_for_each_answer(relay):
    transport = transport_to(relay)
    for number in range(1, 3):
        assert transport.send(*envelope(number), message(number))[0] == 250
    transport.close()
    assert relay.announced_with_body == [False, False]


def test_an_abandoned_announcement_delivers_nothing(relay):
    transport = transport_to(relay)
    transport.submit(*envelope(1), message(1), next_envelope=envelope(2))
    assert transport.finish()[0] == 250
    transport.abandon()  # the worker stopped (paused campaign, SIGTERM) before message 2
    transport.submit(*envelope(3), message(3))
    assert transport.finish()[0] == 250
    transport.close()
    assert [recipients[0] for _s, recipients, _b in relay.messages] == [b"reader1@example.net", b"reader3@example.net"]
    assert all(body for _s, _r, body in relay.messages)


def test_a_refused_body_keeps_the_announced_envelope(relay):
    relay.refuse_body_containing = b"body of message 1"
    transport = transport_to(relay)
    transport.submit(*envelope(1), message(1), next_envelope=envelope(2))
    with pytest.raises(TransportError) as refused:
        transport.finish()
    assert refused.value.kind == "policy" or refused.value.code == 550
    transport.submit(*envelope(2), message(2))
    assert transport.finish()[0] == 250
    transport.close()
    assert [recipients[0] for _s, recipients, _b in relay.messages] == [b"reader2@example.net"]


def test_an_announced_recipient_refused_at_rcpt_fails_alone(relay):
    relay.refuse_rcpt = {b"reader2@example.net"}
    transport = transport_to(relay)
    transport.submit(*envelope(1), message(1), next_envelope=envelope(2))
    assert transport.finish()[0] == 250
    with pytest.raises(TransportError) as refused:
        transport.submit(*envelope(2), message(2), next_envelope=envelope(3))
    assert refused.value.kind == PERMANENT and refused.value.code == 550
    transport.submit(*envelope(3), message(3))
    assert transport.finish()[0] == 250
    transport.close()
    assert [recipients[0] for _s, recipients, _b in relay.messages] == [b"reader1@example.net", b"reader3@example.net"]


def test_an_address_unfit_for_smtp_is_never_announced(relay):
    transport = transport_to(relay)
    transport.submit(*envelope(1), message(1), next_envelope=("bounces@example.org", "bad>\r\nRCPT TO:<x@y>"))
    assert transport.finish()[0] == 250
    assert transport.announced is None
    with pytest.raises(ValueError):
        transport.submit("bounces@example.org", "bad>\r\nRCPT TO:<x@y>", message(2))
    transport.close()
    assert len(relay.messages) == 1


def test_a_hung_up_relay_is_a_connection_error(relay):
    transport = transport_to(relay)
    transport.submit(*envelope(1), message(1), next_envelope=envelope(2))
    assert transport.finish()[0] == 250
    transport.backend.connection.sock.shutdown(socket.SHUT_RDWR)
    with pytest.raises(TransportError) as lost:
        transport.submit(*envelope(2), message(2))
    assert lost.value.kind == "connection"
