"""A real SpamAssassin for tests: Debian's ``/usr/sbin/spamd`` on 127.0.0.1 and a free port, local tests only (no
network lookups), its site configuration copied from /etc/spamassassin into a throwaway directory (Bayes and
auto-learning off, so that scoring one message never changes the next score), its home in the same temporary tree.

Started once per test session (spamd compiles its rules at start: a second or two) by the ``spamd`` fixture;
``spamd_settings`` points the package's SPAMD setting at it for one test.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from .conftest import free_port
from .live_site import stop_process

SPAMD = "/usr/sbin/spamd"
SITE_CONFIG = Path("/etc/spamassassin")
LOCAL_CF = "use_bayes 0\nbayes_auto_learn 0\n"


class SpamdServer:
    def __init__(self, directory):
        self.directory = Path(directory)
        self.host, self.port = "127.0.0.1", free_port()
        self.process = None

    def start(self, timeout=60):
        site, home = self.directory / "site", self.directory / "home"
        site.mkdir()
        home.mkdir()
        for path in SITE_CONFIG.glob("*.pre"):  # which plugins load, as on the real system
            shutil.copy(path, site)
        for path in SITE_CONFIG.glob("*.cf"):
            shutil.copy(path, site)
        with (site / "local.cf").open("a") as local:
            local.write("\n" + LOCAL_CF)
        self.log_path = self.directory / "spamd.log"
        command = [
            SPAMD, "--local", "--nouser-config", f"--listen={self.host}:{self.port}", f"--allowed-ips={self.host}",
            f"--siteconfigpath={site}", f"--helper-home-dir={home}", "--max-children=2", "--min-children=1",
            "--syslog=stderr", f"--pidfile={self.directory / 'spamd.pid'}",
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while not self.ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"spamd did not start:\n{self.log_path.read_text(errors='replace')[-4000:]}")
            time.sleep(0.1)
        return self

    def ping(self):
        """True once spamd answers the spamc protocol's PING with PONG."""
        try:
            with socket.create_connection((self.host, self.port), timeout=2) as connection:
                connection.sendall(b"PING SPAMC/1.5\r\n\r\n")
                return b"PONG" in connection.recv(100)
        except OSError:
            return False

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            stop_process(self.process, timeout=10)

    @property
    def setting(self):
        """The SPAMD setting for this server."""
        return {"HOST": self.host, "PORT": self.port, "TIMEOUT": 20}


@pytest.fixture(scope="session", name="spamd")
def spamd_fixture():
    if not Path(SPAMD).exists():
        pytest.skip("spamd is not installed (Debian package spamd / spamassassin)")
    # Not under pytest's tmp tree: spamd started as root reads its configuration as "nobody", who must be able to
    # walk to it (pytest's directories are private to their owner).
    directory = tempfile.mkdtemp(prefix="wn-spamd-")
    os.chmod(directory, 0o755)
    try:
        server = SpamdServer(directory).start()
        yield server
        server.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(name="spamd_settings")
def spamd_settings_fixture(settings, spamd):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "SPAMD": spamd.setting}
    return spamd
