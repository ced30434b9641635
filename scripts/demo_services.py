"""Run the example site's three processes (smtp_catcher, qcluster, runserver) until SIGINT or SIGTERM, then stop
every one of them: the last step of ``scripts/demo``, which prepares the database first.

    .venv/bin/python scripts/demo_services.py LOG_DIR     # environment: PORT (8000), EMAIL_PORT (1025)

Python rather than bash: a shell started without a terminal by another script (``scripts/demo &``) inherits SIGINT
ignored, and bash can neither trap nor reset a signal that was ignored when it started; Python can. Each service
runs in its own session (process group), so that its own children (runserver's reloaded server, qcluster's
workers) are stopped with it. Exits 0 when stopped by a signal, 1 when a service died or would not stop.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(ROOT / "example_site" / "manage.py")]
LEADERS_GRACE = 5  # s for qcluster to stop its own workers before they are signalled too
GROUPS_GRACE = 15  # s for whatever is left after SIGTERM to its whole group, before SIGKILL


class Stop(Exception):
    """Raised by the SIGINT/SIGTERM handler in the main loop."""


def on_signal(number, _frame):
    raise Stop(signal.Signals(number).name)


def say(text):
    print(f"==> {text}", flush=True)


def port_in_use(port):
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def group_members(pgid):
    """Process ids of the living (not zombie) processes of a process group, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        state, _ppid, group = stat.rsplit(")", 1)[1].split()[:3]
        if int(group) == pgid and state != "Z":
            members.append(int(entry.name))
    return members


def wait_until_gone(services, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for process in services.values():
            process.poll()  # reap the leader
        if not any(group_members(process.pid) for process in services.values()):
            return True
        time.sleep(0.1)
    return False


def signal_groups(services, number):
    for process in services.values():
        try:
            os.killpg(process.pid, number)
        except ProcessLookupError:
            pass


def stop_all(services):
    """SIGTERM the leaders, then their whole groups, then SIGKILL what is left; whether everything stopped."""
    for process in services.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # qcluster stops its workers cleanly only if they are not signalled
    if not wait_until_gone(services, LEADERS_GRACE):
        signal_groups(services, signal.SIGTERM)
        if not wait_until_gone(services, GROUPS_GRACE):
            print(f"  some processes ignored SIGTERM for {GROUPS_GRACE} s: killing them", flush=True)
            signal_groups(services, signal.SIGKILL)
    if wait_until_gone(services, 5):
        print("  every process started by scripts/demo has stopped", flush=True)
        return True
    left = {name: group_members(process.pid) for name, process in services.items()}
    print(f"Some processes are still running: {left}", file=sys.stderr, flush=True)
    return False


def start(services, name, arguments, log_dir):
    log = open(log_dir / f"{name}.log", "ab")
    services[name] = subprocess.Popen(
        [*MANAGE, *arguments], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    log.close()
    print(f"  started {name} (pid {services[name].pid}, log {log_dir / name}.log)", flush=True)


def dead_service(services):
    return next((name for name, process in services.items() if process.poll() is not None), None)


def wait_until_serving(url, services):
    for _ in range(200):
        if dead_service(services):
            return False
        try:
            urllib.request.urlopen(url, timeout=2)
            return True
        except OSError:
            time.sleep(0.3)
    return False


def main(log_dir):
    port, email_port = int(os.environ.get("PORT", "8000")), int(os.environ.get("EMAIL_PORT", "1025"))
    for taken in (port, email_port):
        if port_in_use(taken):
            print(f"Port {taken} is already in use: stop what uses it, or set PORT / EMAIL_PORT.", file=sys.stderr)
            return 1
    log_dir.mkdir(parents=True, exist_ok=True)
    services = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, on_signal)  # also when inherited ignored (started in the background by a script)
    try:
        say("Starting the services")
        start(services, "smtp_catcher", ["smtp_catcher", "--port", str(email_port)], log_dir)
        start(services, "qcluster", ["qcluster"], log_dir)
        start(services, "runserver", ["runserver", f"127.0.0.1:{port}"], log_dir)
        if not wait_until_serving(f"http://127.0.0.1:{port}/admin/login/", services):
            print(f"A service stopped or did not answer while starting; see {log_dir}/", file=sys.stderr, flush=True)
            stop_all(services)
            return 1
        site = f"http://127.0.0.1:{port}"
        print(
            f"\n  The example site is running.\n\n"
            f"    Site:    {site}/\n"
            f"    Admin:   {site}/admin/       login: admin / admin\n"
            f"    Outbox:  {site}/admin/outbox/  (mails caught on 127.0.0.1:{email_port})\n"
            f"    Logs:    {log_dir}/\n\n"
            f"  Ctrl-C (SIGINT) or SIGTERM to this process (pid {os.getpid()}) stops everything.\n",
            flush=True,
        )
        while not (name := dead_service(services)):
            time.sleep(0.5)
        print(f"{name} stopped unexpectedly; see {log_dir}/{name}.log", file=sys.stderr, flush=True)
        stop_all(services)
        return 1
    except Stop as stop:
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, signal.SIG_IGN)  # a second Ctrl-C does not cut the stopping short
        say(f"Stopping ({stop})")
        return 0 if stop_all(services) else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
