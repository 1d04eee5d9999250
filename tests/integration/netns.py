"""A second address on this machine, for tests that need a client that is
not loopback: a network namespace joined to the host by a veth pair.

    with NetNS() as ns:        # root only (see available())
        agent listens on f"{ns.host_addr}:{port}"
        ns.run("curl", "-sS", f"http://{ns.host_addr}:{port}/...")
        # the agent sees the client as ns.ns_addr

The pair gets a /30 of 10.231.0.0/16 (a private range nothing here
routes), picked from this process's pid and checked unused, so tests
running at once do not collide.  Traffic stays on this machine: the
namespace has no other link and no route beyond the /30.  Everything is
removed on exit, on failure too (deleting the namespace deletes both ends
of the pair), and namespaces left by a test process that died are
removed the next time one is made.
"""
import ipaddress
import itertools
import os
import re
import shutil
import subprocess

PREFIX = "agent-it-"
NET = ipaddress.ip_network("10.231.0.0/16")
_seq = itertools.count()


def available():
    """None when namespaces can be made here, else why not."""
    if os.geteuid() != 0:
        return "needs root"
    if shutil.which("ip") is None:
        return "needs ip(8) (iproute2)"
    return None


def _ip(*args, check=True, ns=None):
    cmd = ["ip"] + (["netns", "exec", ns, "ip"] if ns else []) + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()}")
    return r


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap_stale():
    """Namespaces of test processes that are gone."""
    out = _ip("netns", "list", check=False).stdout
    for line in out.splitlines():
        m = re.match(rf"({re.escape(PREFIX)}(\d+)-\d+)\b", line)
        if m and not _pid_alive(int(m.group(2))):
            _ip("netns", "del", m.group(1), check=False)


def _subnet_in_use(net):
    out = _ip("-4", "-o", "addr", "show", check=False).stdout
    for m in re.finditer(r"inet (\d+\.\d+\.\d+\.\d+)/", out):
        if ipaddress.ip_address(m.group(1)) in net:
            return True
    return False


def _pick_subnet(pid, seq):
    subnets = NET.num_addresses // 4
    for i in range(subnets):
        n = (pid * 8 + seq + i) % subnets
        net = ipaddress.ip_network(
            (int(NET.network_address) + 4 * n, 30))
        if not _subnet_in_use(net):
            return net
    raise RuntimeError(f"no free /30 in {NET}")


class NetNS:
    """A namespace `name` with `ns_addr`, reaching `host_addr` on the
    host over a veth pair."""

    def __init__(self):
        self.name = None
        self.host_if = None

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def open(self):
        why = available()
        if why is not None:
            raise RuntimeError(why)
        _reap_stale()
        pid, seq = os.getpid(), next(_seq)
        net = _pick_subnet(pid, seq)
        hosts = list(net.hosts())
        self.host_addr, self.ns_addr = str(hosts[0]), str(hosts[1])
        self.name = f"{PREFIX}{pid}-{seq}"
        # interface names: 15 bytes at most
        tag = f"{pid % 100000}x{seq % 100}"
        self.host_if, ns_if = f"ag{tag}h", f"ag{tag}n"
        try:
            _ip("netns", "add", self.name)
            _ip("link", "add", self.host_if, "type", "veth", "peer",
                "name", ns_if)
            _ip("link", "set", ns_if, "netns", self.name)
            _ip("addr", "add", f"{self.host_addr}/30", "dev", self.host_if)
            _ip("link", "set", self.host_if, "up")
            _ip("addr", "add", f"{self.ns_addr}/30", "dev", ns_if,
                ns=self.name)
            _ip("link", "set", ns_if, "up", ns=self.name)
            _ip("link", "set", "lo", "up", ns=self.name)
        except Exception:
            self.close()
            raise
        return self

    def run(self, *cmd, timeout=30, **kw):
        """Run a command inside the namespace (subprocess.run)."""
        return subprocess.run(["ip", "netns", "exec", self.name, *cmd],
                              capture_output=True, timeout=timeout, **kw)

    def close(self):
        if self.name is not None:
            _ip("netns", "del", self.name, check=False)
            self.name = None
        if self.host_if is not None:
            # gone with the namespace's end; this is for a half-made pair
            _ip("link", "del", self.host_if, check=False)
            self.host_if = None
