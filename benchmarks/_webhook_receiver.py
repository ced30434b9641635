"""The webhook benchmark's receiver (benchmarks/webhooks.py), a process of its own: a threaded HTTP/1.1 server
(the standard library's, as a small receiving site would run) that verifies every signature with the tests'
independent Standard Webhooks code, dedupes by ``webhook-id`` and checks the order per subscriber.

    python benchmarks/_webhook_receiver.py PORT SECRET [SECRET…]

``GET /stats`` answers {"accepted", "duplicates", "rejected", "out_of_order", "requests"}. POSTs to ``/max/`` are
verified and deduped the same way but not counted as deliveries: that is what wrk hammers to measure the receiver's
own maximum.
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.webhook_receiver import InvalidSignature, verify  # noqa: E402

LOCK = threading.Lock()
STATS = {"accepted": 0, "duplicates": 0, "rejected": 0, "out_of_order": 0, "requests": 0}
SEEN = set()
LAST = {}  # (path, subscriber id) -> last message number


def receive(path, headers, body, secrets):
    for secret in secrets:
        try:
            payload = verify(secret, headers, body)
            break
        except InvalidSignature:
            continue
    else:
        with LOCK:
            STATS["rejected"] += 1
        return 400
    msg_id = headers["webhook-id"]
    key = (path, msg_id)
    with LOCK:
        STATS["requests"] += 1
        if path == "/max/":  # wrk's requests: the same work, not counted
            SEEN.add(key)
            return 200
        if key in SEEN:
            STATS["duplicates"] += 1
            return 200
        SEEN.add(key)
        STATS["accepted"] += 1
        subscriber = (payload.get("data", {}).get("subscriber") or {}).get("id")
        number = int(msg_id.removeprefix("msg_"))
        if subscriber is not None:
            if LAST.get((path, subscriber), 0) > number:
                STATS["out_of_order"] += 1
            LAST[(path, subscriber)] = number
    return 200


def main():
    port, secrets = int(sys.argv[1]), sys.argv[2:]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body leave at once: no 40 ms delayed-ACK stall

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {key.lower(): value for key, value in self.headers.items()}
            self._answer(receive(self.path, headers, body, secrets), b"ok")

        def do_GET(self):
            with LOCK:
                data = json.dumps(STATS).encode()
            self._answer(200, data)

        def _answer(self, status, data):
            self.send_response(status)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
