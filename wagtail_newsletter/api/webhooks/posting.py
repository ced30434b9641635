"""Posting webhook messages: keep-alive HTTP connections to one endpoint, one per thread, with a timeout.

The standard library's ``http.client`` (no new dependency): a connection is kept open between messages, made again
after an error, and a request that fails on a connection the server had closed while idle is sent once more on a
new one (the receiver dedupes by ``webhook-id`` should it have arrived after all).
"""

import http.client
import threading
from typing import NamedTuple
from urllib.parse import urlsplit

USER_AGENT = "wagtail-newsletter-webhooks/1"
_KEPT_BODY = 1000  # characters of an answer kept for the delivery log
_MAX_READ = 64 * 1024  # an answer longer than this is cut, and its connection closed
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class Answer(NamedTuple):
    status: int | None  # None: no HTTP answer (refused, timed out, reset)
    body: str
    error: str

    @property
    def ok(self):
        return self.status is not None and 200 <= self.status < 300

    @property
    def unreachable(self):
        """No answer at all: the next messages to this endpoint would most likely fail the same way."""
        return self.status is None


class Poster:
    """POSTs to ``url``; thread-safe (each thread has its own connection). ``close()`` closes them all."""

    def __init__(self, url, timeout):
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host, self.port = parts.hostname, parts.port
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.netloc = parts.netloc.rsplit("@", 1)[-1]
        self.timeout = timeout
        self._local = threading.local()
        self._all = []
        self._lock = threading.Lock()

    def _connection(self):
        connection = getattr(self._local, "connection", None)
        if connection is None:
            kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            connection = self._local.connection = kind(self.host, self.port, timeout=self.timeout)
            connection.fresh = True
            with self._lock:
                self._all.append(connection)
        return connection

    def _drop(self):
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def post(self, body, headers):
        headers = {**headers, "user-agent": USER_AGENT, "host": self.netloc, "content-length": str(len(body))}
        for _try in range(2):
            connection = self._connection()
            reused = not connection.fresh
            connection.fresh = False
            try:
                connection.request("POST", self.path, body=body, headers=headers)
                response = connection.getresponse()
                text = response.read(_MAX_READ + 1)
                if len(text) > _MAX_READ or response.will_close:
                    self._drop()
                return Answer(response.status, text[:_KEPT_BODY].decode("utf-8", "replace"), "")
            except _STALE as error:
                self._drop()
                if reused:  # the server closed an idle connection: not the endpoint's failure
                    continue
                return Answer(None, "", _describe(error))
            except (OSError, http.client.HTTPException) as error:
                self._drop()
                return Answer(None, "", _describe(error))
        return Answer(None, "", "connection lost")

    def close(self):
        with self._lock:
            for connection in self._all:
                connection.close()
            self._all.clear()


def _describe(error):
    return (f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)[:500]
