"""A real DNS server for tests: dnsmasq (Debian dnsmasq-base) on a free loopback port, serving the records a test
names, authoritative for ``.test`` (other names there answer NXDOMAIN), and forwarding chosen zones to a UDP socket
that never answers (a timeout) or to nobody (REFUSED).
"""

import getpass
import shutil
import socket
import subprocess
import time

import dns.exception
import dns.resolver
import pytest

from .conftest import free_port


def txt(name, *strings):
    """A TXT record; each string is one character-string of it (a DKIM key is split into strings of ≤255)."""
    # No shell here: dnsmasq takes the argument literally, so no quotes (they would become part of the record).
    return f"--txt-record={name},{','.join(strings)}"


def mx(name, host, preference=10):
    return f"--mx-host={name},{host},{preference}"


def null_mx(name):
    """RFC 7505: "0 ." (dnsmasq's --mx-host takes no root target; the raw record: preference 0, root name)."""
    return f"--dns-rr={name},15,000000"


def address(name, ip="192.0.2.1"):
    return f"--address=/{name}/{ip}"


class DnsServer:
    """``with DnsServer(records, timeout_zones=(), refused_zones=()) as server:`` ``server.port`` answers."""

    def __init__(self, records, timeout_zones=(), refused_zones=()):
        self.records, self.timeout_zones, self.refused_zones = list(records), timeout_zones, refused_zones
        self.port = free_port()
        self.silent = None
        self.process = None

    def __enter__(self):
        dnsmasq = shutil.which("dnsmasq") or shutil.which("dnsmasq", path="/usr/sbin:/sbin")
        if not dnsmasq:
            pytest.skip("dnsmasq is not installed (Debian package dnsmasq-base)")
        # Bound and never read: queries forwarded here are swallowed, so clients time out.
        self.silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.silent.bind(("127.0.0.1", 0))
        silent_port = self.silent.getsockname()[1]
        command = [
            dnsmasq, "--keep-in-foreground", "--no-resolv", "--no-hosts", "--pid-file", "--log-facility=-",
            f"--port={self.port}", "--listen-address=127.0.0.1", "--bind-interfaces", f"--user={getpass.getuser()}",
            "--local=/test/", *self.records,
            *(f"--server=/{zone}/127.0.0.1#{silent_port}" for zone in self.timeout_zones),
            *(f"--server=/{zone}/#" for zone in self.refused_zones),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        resolver = self.resolver()
        deadline = time.monotonic() + 10
        while True:
            try:
                resolver.resolve("ready.test", "TXT")
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                return self  # it answers
            except dns.exception.DNSException:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    pytest.fail(f"dnsmasq did not start: {self.process.stderr.read().decode()}")
                time.sleep(0.05)
            else:
                return self

    def __exit__(self, *exc_info):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        if self.process is not None:
            self.process.stderr.close()
        if self.silent is not None:
            self.silent.close()

    def resolver(self, lifetime=1):
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers, resolver.port, resolver.lifetime = ["127.0.0.1"], self.port, lifetime
        return resolver

    @property
    def address(self):
        """The DNS_RESOLVERS entry for this server."""
        return f"127.0.0.1:{self.port}"
