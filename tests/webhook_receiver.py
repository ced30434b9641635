"""A real webhook receiver for the tests: a threaded HTTP/1.1 server on 127.0.0.1 that verifies each message's
signature with its own code (written from the Standard Webhooks specification, not from the sender's), dedupes by
``webhook-id``, and can misbehave: answer 500 at random, answer too late (the sender times out), or be down a while.
"""

import base64
import hashlib
import hmac
import json
import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 5 * 60


class InvalidSignature(Exception):
    pass


def verify(secret, headers, body, now=None):
    """The spec's verification: the secret is ``whsec_`` + base64; the signed content is ``id.timestamp.body``; the
    header lists space-separated ``v1,<base64>`` signatures, any of which may match (constant-time comparison); the
    timestamp must be within 5 minutes. Returns the parsed JSON payload."""
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    header = headers.get("webhook-signature")
    if not (msg_id and timestamp and header):
        raise InvalidSignature("missing headers")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise InvalidSignature("bad timestamp") from None
    if abs((now or time.time()) - sent_at) > TOLERANCE_SECONDS:
        raise InvalidSignature("timestamp out of tolerance")
    key = base64.b64decode(secret.split("_", 1)[1] if secret.startswith("whsec_") else secret)
    content = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest())
    for versioned in header.split(" "):
        version, _comma, signature = versioned.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return json.loads(body)
    raise InvalidSignature("no matching signature")


class Receiver:
    """Call ``start()``; ``url`` to register; ``accepted``: [(webhook-id, payload)] in order of first arrival."""

    def __init__(self, secrets=()):
        self.secrets = list(secrets)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks/"
        self.fail_rate = 0.0  # answer 500 to this share of requests
        self.slow_rate = 0.0  # answer this share only after ``slow_seconds`` (past the sender's timeout)
        self.slow_seconds = 0.0
        self.accepted = []
        self.ids = set()
        self.requests = 0
        self.duplicates = 0
        self.rejected = 0  # bad signatures
        self.lock = threading.Lock()
        self.random = random.Random(14)
        self.server = None

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once: no 40 ms delayed-ACK stall

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.handle(self, body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # a sender that hung up (timeout, kill) is expected
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self):
        """Down: nothing listens on the port (the sender's connections are refused)."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def handle(self, request, body):
        if self.server is None:  # down: a connection kept alive from before is dropped without an answer
            request.close_connection = True
            return
        with self.lock:
            self.requests += 1
            roll = self.random.random()
        headers = {key.lower(): value for key, value in request.headers.items()}
        try:
            payload = self._verified(headers, body)
        except InvalidSignature as error:
            with self.lock:
                self.rejected += 1
            return self._answer(request, 400, str(error))
        if roll < self.fail_rate:
            return self._answer(request, 500, "random failure")
        msg_id = headers["webhook-id"]
        with self.lock:  # recorded before answering: a late answer still counts as received (as in real life)
            if msg_id in self.ids:
                self.duplicates += 1
            else:
                self.ids.add(msg_id)
                self.accepted.append((msg_id, payload))
        if roll < self.fail_rate + self.slow_rate:
            time.sleep(self.slow_seconds)
        self._answer(request, 200, "ok")

    def _verified(self, headers, body):
        for secret in self.secrets:
            try:
                return verify(secret, headers, body)
            except InvalidSignature:
                continue
        raise InvalidSignature("no secret of this receiver signed it")

    @staticmethod
    def _answer(request, status, text):
        data = text.encode()
        try:
            request.send_response(status)
            request.send_header("content-type", "text/plain")
            request.send_header("content-length", str(len(data)))
            request.end_headers()
            request.wfile.write(data)
        except OSError:  # the sender gave up waiting
            pass

    def count(self):
        with self.lock:
            return len(self.accepted)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
