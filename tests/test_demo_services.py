"""``scripts/demo``'s supervisor (``scripts/demo_services.py``), started the way another script starts it — no
terminal, SIGINT ignored as a non-interactive shell's ``&`` leaves it — stops runserver, qcluster and the SMTP
catcher, with all their children, on SIGINT or SIGTERM to its own pid."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import free_port
from .live_site import ROOT, wait_until_serving

pytestmark = pytest.mark.integration


def descendants(pid):
    """Ids of every living process below ``pid`` (children, grandchildren…), from /proc."""
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue
        if state != "Z":
            children.setdefault(int(ppid), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        below = children.get(todo.pop(), [])
        found.extend(below)
        todo.extend(below)
    return found


def alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def ignore_sigint():
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # what bash does to a job it starts with & without job control


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_demo_stops_every_process_it_started_on_a_signal(
    django_db_serialized_rollback, transactional_db, tmp_path, stop_signal
):
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "EMAIL_PORT": str(free_port()),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "example_site")]),
        "WN_USE_TEST_DB": "1",
        "Q_SYNC": "0",
        "DEBUG": "1",
    }
    output, started = open(tmp_path / "demo.log", "wb"), []
    demo = subprocess.Popen(
        [sys.executable, "scripts/demo_services.py", str(tmp_path / "log")], cwd=ROOT, env=env,
        stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=ignore_sigint,
    )  # fmt: skip
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/admin/login/", demo, tmp_path / "demo.log")
        started.extend(descendants(demo.pid))
        commands = " ".join(Path(f"/proc/{pid}/cmdline").read_text() for pid in started)
        assert all(name in commands for name in ("runserver", "qcluster", "smtp_catcher")), commands

        demo.send_signal(stop_signal)
        assert demo.wait(timeout=25) == 0
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.1)
        log = (tmp_path / "demo.log").read_text()
        assert not [pid for pid in started if alive(pid)], log
        assert "every process started by scripts/demo has stopped" in log
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
        for pid in filter(alive, started):  # a failed test leaves nothing running
            os.kill(pid, signal.SIGKILL)
        output.close()
