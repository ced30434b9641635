"""Handing messages to the mail system: a fast path over Django's SMTP backend, or any other Django email backend.

The fast path keeps one SMTP connection open for a whole batch and sends the prepared (signed) bytes with
MAIL/RCPT/DATA, so every answer's code and text reach the caller. Other backends (django-anymail's ESPs, console,
locmem…) get an ``EmailMultiAlternatives`` built from the same parts and headers.
"""

import re
import smtplib
import socket

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

TEMPORARY = "temporary"  # 4xx for this recipient: retry it later
PERMANENT = "permanent"  # 5xx for this recipient: give up on it
POLICY = "policy"  # 5.7.x: the relay refuses the *sender*; pause the campaign
CONNECTION = "connection"  # relay unreachable, timed out or hung up: retry everything later

_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})")
_THROTTLE_WORDS = re.compile(r"rate|too many|throttl|limit|slow down|try again later", re.I)


class TransportError(Exception):
    def __init__(self, kind, code=None, message="", throttled=False):
        super().__init__(f"{code or ''} {message}".strip())
        self.kind = kind
        self.code = code
        self.message = message
        self.throttled = throttled


def _text(response):
    if isinstance(response, bytes):
        return response.decode("utf-8", "replace")
    return str(response or "")


def classify(code, response):
    """A TransportError for an SMTP answer that is not a success."""
    text = " ".join(_text(response).split())[:450]
    enhanced = _ENHANCED.match(text)
    if code == 421:  # the relay closes the session, often to slow us down: retry this one, reconnect, slow down
        return TransportError(TEMPORARY, code, text, throttled=True)
    if 400 <= code < 500:
        throttled = bool(enhanced and enhanced.group(2) == "7") or bool(_THROTTLE_WORDS.search(text))
        return TransportError(TEMPORARY, code, text, throttled=throttled)
    if 500 <= code < 600 and enhanced and enhanced.group(1) == "5" and enhanced.group(2) == "7":
        return TransportError(POLICY, code, text)
    return TransportError(PERMANENT, code, text)


def _sender_refused(code, response):
    """A refused sender is the sender's problem, never the recipient's; other answers to MAIL (503 bad
    sequence…) are the session's: start over later."""
    error = classify(code, response)
    if error.kind == PERMANENT:
        error.kind = POLICY if code in (550, 553, 554) else CONNECTION
    return error


def _fit_for_smtp(*addresses):
    return all(address.isascii() and not any(char in address for char in "\r\n<>") for address in addresses)


def _envelope_commands(envelope_from, recipient):
    if not _fit_for_smtp(envelope_from, recipient):
        raise ValueError(f"address unfit for SMTP: {envelope_from!r} → {recipient!r}")
    return f"MAIL FROM:<{envelope_from}>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode("ascii")


def _disconnected(error):
    return TransportError(CONNECTION, getattr(error, "smtp_code", None), str(error) or "disconnected")


def uses_smtp_fast_path(backend=None):
    backend = backend or get_connection(fail_silently=False)
    return type(backend) is SmtpBackend


class SmtpTransport:
    """Persistent SMTP through Django's SMTP backend settings (host, port, TLS, login), raw bytes per message."""

    # Without a timeout a hung relay would hold a worker past its lease, and another worker would send the batch too.
    DEFAULT_TIMEOUT = 20

    def __init__(self, backend):
        self.backend = backend
        self.pipelining = False
        self.announced = None  # the (sender, recipient) whose MAIL/RCPT/DATA went with the last body
        self._answer = None
        if backend.timeout is None:
            backend.timeout = self.DEFAULT_TIMEOUT

    def _connection(self):
        if self.backend.connection is None:
            try:
                self.backend.open()
                connection = self.backend.connection
                connection.ehlo_or_helo_if_needed()
                if connection.sock is not None:  # small commands must not wait for Nagle's algorithm
                    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.pipelining = connection.has_extn("pipelining")
            except (OSError, smtplib.SMTPException) as error:
                self.close()
                raise TransportError(CONNECTION, None, str(error) or type(error).__name__) from error
        return self.backend.connection

    def send(self, envelope_from, recipient, raw, build_message=None):
        """Send ``raw`` (CRLF bytes) to ``recipient``; return the server's (code, text) or raise TransportError."""
        self.submit(envelope_from, recipient, raw, build_message)
        return self.finish()

    def submit(self, envelope_from, recipient, raw, build_message=None, next_envelope=None):
        """Hand ``raw`` to the relay without waiting for its verdict (``finish`` reads it), so the caller can prepare
        the next message meanwhile. With PIPELINING the envelope ``(sender, recipient)`` of that next message goes
        in the same write as this body (RFC 2920 §3.1): one round trip per message instead of two."""
        connection = self._connection()
        self._answer = None
        try:
            if not self.pipelining:
                self._answer = self._send_one_command_at_a_time(connection, envelope_from, recipient, raw)
                return
            announced, self.announced = self.announced, None
            if announced != (envelope_from, recipient):
                if announced is not None:  # the caller skipped the message it announced: start a clean session
                    self.close()
                    connection = self._connection()
                connection.send(_envelope_commands(envelope_from, recipient))
            self._read_envelope_answers(connection)
            body = raw.replace(b"\r\n.", b"\r\n..")
            if body.startswith(b"."):
                body = b"." + body
            if not body.endswith(b"\r\n"):
                body += b"\r\n"
            following = b""
            if next_envelope is not None and _fit_for_smtp(*next_envelope):
                following = _envelope_commands(*next_envelope)
                self.announced = tuple(next_envelope)
            connection.send(body + b".\r\n" + following)
        except TransportError:
            raise
        except (TimeoutError, smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException, OSError) as error:
            self.close()
            raise _disconnected(error) from error

    def finish(self):
        """The relay's answer to the message last submitted: (code, text), or raise TransportError."""
        if self._answer is not None:
            answer, self._answer = self._answer, None
            return answer
        try:
            code, text = self.backend.connection.getreply()
        except (TimeoutError, smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException, OSError) as error:
            self.close()
            raise _disconnected(error) from error
        if code != 250:
            # The transaction ended with this answer either way; an envelope announced behind the body is answered
            # on its own, so no RSET (it would land in the middle of that pipelined group) — except after a 421.
            if code == 421:
                self.close()
            raise classify(code, text)
        return code, _text(text)

    def abandon(self):
        """The caller will not send the message it announced: only closing the session cancels a pending DATA."""
        if self.announced is not None:
            self.close()

    def _send_one_command_at_a_time(self, connection, envelope_from, recipient, raw):
        code, response = connection.mail(envelope_from)
        if code != 250:
            self._reset(connection, code)
            raise _sender_refused(code, response)
        code, response = connection.rcpt(recipient)
        if code not in (250, 251):
            self._reset(connection, code)
            raise classify(code, response)
        try:
            code, response = connection.data(raw)
        except smtplib.SMTPDataError as error:
            self._reset(connection, error.smtp_code)
            raise classify(error.smtp_code, error.smtp_error) from error
        return code, _text(response)

    def _read_envelope_answers(self, connection):
        """The answers to a pipelined MAIL, RCPT and DATA; raises unless the relay waits for the body (354)."""
        answers = [connection.getreply() for _command in range(3)]
        (mail_code, mail_text), (rcpt_code, rcpt_text), (data_code, data_text) = answers
        if mail_code == 250 and rcpt_code in (250, 251) and data_code == 354:
            return
        if data_code == 354:  # a server that took DATA after refusing the envelope: end it empty
            connection.send(b".\r\n")
            connection.getreply()
        if mail_code != 250:
            self._reset(connection, mail_code)
            raise _sender_refused(mail_code, mail_text)
        failed = (rcpt_code, rcpt_text) if rcpt_code not in (250, 251) else (data_code, data_text)
        self._reset(connection, failed[0])
        raise classify(*failed)

    def _reset(self, connection, code):
        if code == 421:
            self.close()
            return
        try:
            connection.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self):
        self.announced = None
        try:
            self.backend.close()
        except Exception:  # noqa: BLE001 - a broken connection is being thrown away anyway
            self.backend.connection = None


class BackendTransport:
    """Any other Django email backend: one EmailMessage per recipient, built by ``build_message()``."""

    def __init__(self, backend):
        self.backend = backend
        self.opened = False

    def send(self, envelope_from, recipient, raw, build_message=None):
        if not self.opened:
            try:
                self.backend.open()
            except Exception as error:  # noqa: BLE001 - every backend fails its own way
                raise TransportError(CONNECTION, None, str(error) or type(error).__name__) from error
            self.opened = True
        try:
            sent = self.backend.send_messages([build_message()])
        except Exception as error:  # noqa: BLE001
            raise TransportError(TEMPORARY, None, str(error)[:450] or type(error).__name__) from error
        if sent != 1:
            raise TransportError(TEMPORARY, None, "the email backend did not accept the message")
        return 250, ""

    def submit(self, envelope_from, recipient, raw, build_message=None, next_envelope=None):
        self._answer = self.send(envelope_from, recipient, raw, build_message)

    def finish(self):
        return self._answer

    def abandon(self):
        pass

    def close(self):
        if self.opened:
            try:
                self.backend.close()
            finally:
                self.opened = False


def open_transport():
    """The transport for the configured ``EMAIL_BACKEND`` (connects lazily, on the first message)."""
    backend = get_connection(settings.EMAIL_BACKEND, fail_silently=False)
    if uses_smtp_fast_path(backend):
        return SmtpTransport(backend)
    return BackendTransport(backend)
