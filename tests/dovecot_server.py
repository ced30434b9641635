"""A real Dovecot (IMAP and POP3) on 127.0.0.1 for the bounce mailbox tests: a throwaway configuration, Maildir
mail and a passwd-file user in a temporary directory, free ports, no SSL. ``dovecot`` fixture: one per test."""

import imaplib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from .conftest import free_port

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "bounces", "bounce-secret"

_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = 0
first_valid_gid = 0
mail_uid = {uid}
mail_gid = {gid}
default_internal_user = {internal_user}
default_login_user = {login_user}
pop3_uidl_format = %08Xu%08Xv
mail_fsync = never
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service imap {{
  process_limit = 20
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


def _ids(name):
    import pwd

    entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def _user(name, fallback):
    import pwd

    try:
        pwd.getpwnam(name)
        return name
    except KeyError:
        return fallback


class DovecotServer:
    """``start()`` / ``stop()``; ``mailbox_settings(protocol)`` is a BOUNCE_MAILBOX dict for it; ``append`` puts
    messages in over IMAP, ``write_maildir`` writes them straight into the Maildir (fast, for thousands)."""

    def __init__(self, root=None):
        self.root = Path(root or tempfile.mkdtemp(prefix="dovecot-"))
        self.imap_port, self.pop3_port = free_port(), free_port()
        self.process = None

    def start(self):
        (self.root / "mail").mkdir(parents=True, exist_ok=True)
        (self.root / "home" / USER).mkdir(parents=True, exist_ok=True)
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        # The auth process runs as the dovecot user: it must reach the passwd-file (a test password).
        self.root.chmod(0o711)
        (self.root / "passwd").chmod(0o644)
        # Dovecot never accesses mail as root: the Maildir belongs to an unprivileged user.
        self.mail_uid, self.mail_gid = _ids(_user("nobody", "dovenull"))
        for path in (self.root / "mail", self.root / "home", self.root / "home" / USER):
            os.chown(path, self.mail_uid, self.mail_gid)
        user = _user("dovenull", "nobody")
        config = _CONFIG.format(
            root=self.root, uid=self.mail_uid, gid=self.mail_gid, imap_port=self.imap_port, pop3_port=self.pop3_port,
            internal_user=_user("dovecot", user), login_user=user,
        )  # fmt: skip
        (self.root / "dovecot.conf").write_text(config)
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.process.stderr.read().decode()} {self.log()}")
            if _listening(self.imap_port) and _listening(self.pop3_port):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"dovecot did not start: {self.log()}")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(5)
        self.process = None

    def log(self):
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def mailbox_settings(self, protocol="imap", **extra):
        port = self.imap_port if protocol == "imap" else self.pop3_port
        return {"PROTOCOL": protocol, "HOST": "127.0.0.1", "PORT": port, "SSL": False, "STARTTLS": False,
                "USERNAME": USER, "PASSWORD": PASSWORD, "FOLDER": "INBOX", "DONE_FOLDER": "Processed",
                "BATCH": 500, **extra}  # fmt: skip

    def imap(self):
        client = imaplib.IMAP4("127.0.0.1", self.imap_port)
        client.login(USER, PASSWORD)
        return client

    def append(self, messages, folder="INBOX"):
        """Deliver raw messages over IMAP APPEND, as a mail server's delivery agent would store them."""
        client = self.imap()
        try:
            for raw in messages:
                client.append(folder, None, None, raw)
        finally:
            client.logout()

    def write_maildir(self, messages):
        """Write raw messages straight into the INBOX's Maildir ``new/`` (as Postfix's local delivery does)."""
        maildir = self.root / "mail" / USER
        for path in (maildir, maildir / "tmp", maildir / "new", maildir / "cur"):
            path.mkdir(exist_ok=True)
            os.chown(path, self.mail_uid, self.mail_gid)
        stamp = int(time.time())
        for index, raw in enumerate(messages):
            name = f"{stamp}.M{index}P{os.getpid()}R{uuid.uuid4().hex[:8]}.test"
            (maildir / "tmp" / name).write_bytes(raw)
            os.chown(maildir / "tmp" / name, self.mail_uid, self.mail_gid)
            os.rename(maildir / "tmp" / name, maildir / "new" / name)

    def count(self, folder="INBOX"):
        client = self.imap()
        try:
            status = client.status(folder, "(MESSAGES)")
            if status[0] != "OK":
                return 0
            return int(status[1][0].split(b"MESSAGES")[1].strip(b" )"))
        finally:
            client.logout()


def _listening(port):
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def dovecot():
    server = DovecotServer().start()
    yield server
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)
