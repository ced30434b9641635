"""``manage.py newsletter_qcluster``: django-q2's ``qcluster``, stopping cleanly however SIGTERM arrives.

django-q2's main process stops its cluster by setting an event its sentinel process waits on. systemd
(``KillMode=control-group``, its default) sends SIGTERM to every process of a service at once: the sentinel, which
keeps SIGTERM's default action, dies while it waits on that event, and the main process then blocks for good in
``Event.set()`` (multiprocessing's Condition wakes each sleeper and waits for its answer; a dead one never answers)
until systemd's SIGKILL. This command never touches that event. On SIGTERM or SIGINT its main process sends SIGTERM
to every process below it (those systemd already signalled get a second one, which changes nothing) and waits until
they have all exited. The sentinel, the pusher, the monitor and idle workers end at once; a worker in a send task
finishes the message it is handing to the relay, gives its other claimed recipients back and ends
(``taskqueue.stop_on_sigterm``); a worker in any other task ends at once, as under ``qcluster`` with systemd.

Linux only (it finds the processes in /proc and adopts the sentinel's orphans); elsewhere it is ``qcluster``.
"""

import ctypes
import logging
import os
import signal
import time

from django.conf import settings
from django.core.management.base import CommandError
from django.utils.translation import gettext, gettext_lazy
from django_q.cluster import Cluster
from django_q.management.commands import qcluster

logger = logging.getLogger(__name__)

PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


class Command(qcluster.Command):
    help = gettext_lazy(
        "Starts a django-q2 cluster that stops within seconds, without losing or repeating a message, on SIGTERM to "
        "its main process or to all its processes at once (systemd)."
    )

    def handle(self, *args, **options):
        if not os.path.isdir("/proc") or not _become_subreaper():
            return super().handle(*args, **options)
        settings.SECRET_KEY  # noqa: B018 - as qcluster: fail early without one (tasks are signed with it)
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        signals = []
        cluster = Cluster()
        for signum in (signal.SIGTERM, signal.SIGINT):  # instead of the handlers Cluster() installed
            signal.signal(signum, lambda signum, frame: signals.append(signum))
        cluster.start()
        while not signals and not options["run_once"] and cluster.sentinel.is_alive():
            time.sleep(0.2)
        crashed = not signals and not options["run_once"]
        stop_processes_below(cluster.sentinel)
        if crashed:
            message = gettext("The cluster's sentinel process exited with code %(code)s.")
            raise CommandError(message % {"code": cluster.sentinel.exitcode})


def _become_subreaper():
    """Orphans below this process (workers whose sentinel died first) become its children, so it can wait for them."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (AttributeError, OSError):
        return False


def stop_processes_below(sentinel):
    """SIGTERM to every process below this one; return once they have all exited."""
    started = time.monotonic()
    pids = _processes_below(os.getpid())
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    logger.info("Stopping the cluster: SIGTERM to %d processes", len(pids))
    while pids := [pid for pid in pids if _running(pid, sentinel)]:
        time.sleep(0.05)
    sentinel.join()
    logger.info("Cluster stopped in %.1f s", time.monotonic() - started)


def _running(pid, sentinel):
    if pid == sentinel.pid:
        return sentinel.is_alive()  # multiprocessing reaps its own child
    try:
        if os.waitpid(pid, os.WNOHANG)[0]:  # an adopted orphan that exited: reaped
            return False
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _processes_below(root):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found
