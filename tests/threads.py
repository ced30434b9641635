"""Real threads for concurrency tests: each gets its own database connection, all start together."""

import threading

from django.db import connections


def run_threads(count, target):
    """Run ``target(index)`` in ``count`` threads released at the same moment; fail if any of them raised."""
    start = threading.Barrier(count)
    errors = []

    def run(index):
        try:
            start.wait()
            target(index)
        except Exception as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
