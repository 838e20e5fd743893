"""Labs for tests: what the pytest plugin's `nsgen_lab` fixtures hand to a test.

A lab is brought up by the executor, exactly as `nsgen up FILE --prefix P` does it, under a
prefix of its own, and taken down by the executor again; this module only keeps track of
which labs a fixture brought up and maps the file's names to the prefixed ones. It is
imported when a test first asks for a lab, never when pytest merely loads the plugin.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nsgen import capture, execute, pipeline
from nsgen.errors import NsgenError, messages
from nsgen.lab import HOST, IPInterface, Lab
from nsgen.plan import Plan

# Six characters: short enough to leave nine of IFNAMSIZ's fifteen to the file's host device
# names. The random part comes from os.urandom in each process, so xdist workers and
# concurrent CI jobs draw independently (36**5 values); one already in use on this host
# (a namespace, state record or device starting with it) is drawn again.
PREFIX_LEAD = "p"
PREFIX_DIGITS = 5
ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def unique_prefix(in_use: Sequence[str] = ()) -> str:
    """A fresh prefix, not in IN_USE and naming nothing on this host yet."""
    while True:
        prefix = PREFIX_LEAD + "".join(secrets.choice(ALPHABET) for _ in range(PREFIX_DIGITS))
        if prefix not in in_use and not host_uses(prefix):
            return prefix


def host_uses(prefix: str) -> bool:
    """Whether a namespace, a lab's state record or a host device already starts with it."""
    for directory in (execute.NETNS_DIR, Path("/run/nsgen"), Path("/sys/class/net")):
        try:
            if any(name.startswith(prefix) for name in os.listdir(directory)):
                return True
        except OSError:
            continue
    return False


class LabError(AssertionError):
    """An action of a test's lab failed: the test fails with the script's own output."""


@dataclass
class TestLab:
    """One lab, up under its own prefix while the fixture that made it lasts."""

    topology: Path
    prefix: str
    plan: Plan = field(repr=False)
    up_result: subprocess.CompletedProcess[str] | None = field(default=None, repr=False)
    # Where lab.capture writes its pcap files; removed with the lab.
    scratch: Path | None = field(default=None, repr=False)

    __test__ = False  # not a test class, whatever pytest's python_classes say

    @property
    def resolved(self) -> Lab:
        """The lab as nsgen resolved it: final names, addresses, routes (nsgen.lab.Lab)."""
        return self.plan.lab

    @property
    def name(self) -> str:
        """The lab's name with the prefix, as in `/run/nsgen/NAME` and the script's output."""
        return self.resolved.name

    @property
    def namespaces(self) -> dict[str, str]:
        """Each namespace as the file names it -> its name on the host."""
        return {ns.name[len(self.prefix) :]: ns.name for ns in self.resolved.namespaces}

    def namespace(self, name: str) -> str:
        """The host's name of the file's namespace NAME (`h1` -> `p3k9zah1`)."""
        if name == HOST:
            raise LabError("the host namespace has no name; lab.run('host', ...) runs there")
        final = self._where(name)
        assert final is not None
        return final

    def _where(self, name: str) -> str | None:
        try:
            return execute.lab_namespace(self.resolved, name, self.prefix)
        except NsgenError as error:
            raise LabError(str(error)) from None

    def device(self, namespace: str, name: str) -> str:
        """A device's name in the kernel: host devices carry the prefix, others do not."""
        where = self._where(namespace)
        if where is None and not name.startswith(self.prefix):
            name = self.prefix + name
        for dev, _ in self._devices(where):
            if dev == name:
                return dev
        devices = ", ".join(dev for dev, _ in self._devices(where)) or "none"
        raise LabError(f"{self.name}: {namespace} has no device {name}; its devices: {devices}")

    def _devices(self, where: str | None) -> list[tuple[str, tuple[IPInterface, ...]]]:
        found = [
            (end.name, end.addresses)
            for veth in self.resolved.veths
            for end in (veth.a, veth.b)
            if end.namespace == where
        ]
        found += [(b.name, b.addresses) for b in self.resolved.bridges if b.namespace == where]
        return found

    def addresses(self, namespace: str, device: str | None = None) -> list[IPInterface]:
        """The addresses the file gives NAMESPACE's devices (or one DEVICE), in its order,
        as ipaddress interfaces: `.ip` is the address, `.network` its subnet."""
        where = self._where(namespace)
        if device is not None:
            device = self.device(namespace, device)
        return [
            address
            for dev, addresses in self._devices(where)
            if device is None or dev == device
            for address in addresses
        ]

    def address(self, namespace: str, device: str, version: int | None = None) -> str:
        """DEVICE's address without its prefix length, ready for a command line: its first
        IPv4 address (or, with version=6 or when it has none, its first IPv6 address)."""
        addresses = self.addresses(namespace, device)
        for wanted in (version,) if version else (4, 6):
            for address in addresses:
                if address.version == wanted:
                    return str(address.ip)
        family = f"IPv{version} " if version else ""
        raise LabError(f"{self.name}: {namespace}:{device} has no {family}address")

    def run(
        self, namespace: str, *command: str | os.PathLike[str], **kwargs: Any
    ) -> subprocess.CompletedProcess[Any]:
        """Run COMMAND inside the file's NAMESPACE (`host`: in the host) as `nsgen exec` does,
        NSGEN_LAB, NSGEN_NS and NSGEN_RUN set as for the lab's processes; keyword arguments go
        to subprocess.run. Returns its CompletedProcess."""
        return subprocess.run(self._argv(namespace, command), **self._environ(namespace, kwargs))

    def popen(
        self, namespace: str, *command: str | os.PathLike[str], **kwargs: Any
    ) -> subprocess.Popen[Any]:
        """Start COMMAND inside NAMESPACE without waiting (a daemon under test); keyword
        arguments go to subprocess.Popen. Stop it before the test ends: the lab goes down."""
        return subprocess.Popen(self._argv(namespace, command), **self._environ(namespace, kwargs))

    def _environ(self, namespace: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        # Added to the caller's env= (or to ours), as `nsgen exec` adds them.
        env = dict(kwargs.get("env") or os.environ)
        env.update(execute.lab_environment(self.resolved, self._where(namespace)))
        return {**kwargs, "env": env}

    def _argv(self, namespace: str, command: tuple[str | os.PathLike[str], ...]) -> list[str]:
        if not command:
            raise LabError("lab.run needs a command: lab.run('h1', 'ping', '-c1', '10.0.0.12')")
        words = [os.fspath(word) for word in command]
        if shutil.which(words[0]) is None:
            raise FileNotFoundError(2, "command not found", words[0])
        return execute.namespace_argv(self._where(namespace), words)

    @contextlib.contextmanager
    def capture(
        self, point: str, *bpf: str, path: str | os.PathLike[str] | None = None
    ) -> Iterator[Path]:
        """Capture POINT's packets with tcpdump while the block runs: POINT is "NS:IF" as
        the file names it (either end of a link; "host:DEV" for an end in the host) or a
        bridge, BPF an optional tcpdump filter ("icmp"). Yields the pcap file's path, whole
        once the block has ended; it is removed with the lab unless PATH says where."""
        try:
            argv = capture.argv(capture.find(self.resolved, self.prefix, point), bpf)
        except NsgenError as error:
            raise LabError(str(error)) from None
        if path is None:
            if self.scratch is None:
                self.scratch = Path(tempfile.mkdtemp(prefix=f"nsgen-{self.prefix}-"))
            count = len(list(self.scratch.iterdir()))
            target = self.scratch / f"{count}-{re.sub(r'[^A-Za-z0-9_.-]', '-', point)}.pcap"
        else:
            target = Path(path)
        with target.open("wb") as out:
            tcpdump = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE, text=True)
        try:
            _listening(tcpdump, point)
            yield target
        finally:
            # SIGINT: tcpdump writes what it holds and exits, as after Ctrl-C.
            tcpdump.send_signal(signal.SIGINT)
            try:
                tcpdump.wait(timeout=10)
            except subprocess.TimeoutExpired:
                tcpdump.kill()
                tcpdump.wait()
            assert tcpdump.stderr is not None
            tcpdump.stderr.close()

    def action(
        self, action: execute.Action, *, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """The script's ACTION (up, down, status, verify), output captured: a CompletedProcess
        with returncode, stdout and stderr. check=True raises LabError unless it exits 0."""
        request = execute.Request(action, self.topology, prefix=self.prefix)
        try:
            result: subprocess.CompletedProcess[str] = execute.run_captured(request)
        except NsgenError as error:
            raise LabError(f"nsgen {action}: {error}") from None
        if result.returncode == 130:
            raise KeyboardInterrupt  # the script was interrupted and has cleaned up
        if check and result.returncode != 0:
            raise LabError(
                f"{request.invocation()} exited {result.returncode}:\n"
                f"{result.stdout}{result.stderr}".rstrip()
            )
        return result

    def up(self) -> subprocess.CompletedProcess[str]:
        """Bring the lab up again (repairs what a test changed); raises LabError if it fails."""
        return self.action("up", check=True)

    def down(self) -> subprocess.CompletedProcess[str]:
        return self.action("down", check=True)

    def status(self, *, check: bool = False) -> subprocess.CompletedProcess[str]:
        """The script's status: exit 0 when every declared object is ok, else 3."""
        return self.action("status", check=check)

    def verify(self, *, check: bool = False) -> subprocess.CompletedProcess[str]:
        """The script's verify: every address, gateway and [[checks]] entry; exit 4 if a ping
        fails (check=True raises LabError with its output)."""
        return self.action("verify", check=check)


def _listening(tcpdump: subprocess.Popen[str], point: str) -> None:
    """Return once tcpdump captures (it says "listening on"); LabError if it exits first."""
    assert tcpdump.stderr is not None
    said = []
    for line in tcpdump.stderr:
        if "listening on" in line:
            return
        said.append(line)
    tcpdump.wait()
    raise LabError(f"tcpdump on {point} exited {tcpdump.returncode}: {''.join(said).strip()}")


@dataclass
class LabFactory:
    """`factory("lab.toml")`: the lab of that file, up; the same lab again for the same file.
    A relative path is taken from the directory of the file that calls the factory (`base`
    when that is no file)."""

    base: Path
    labs: dict[tuple[Path, str | None], TestLab] = field(default_factory=dict)

    def __call__(self, topology: str | os.PathLike[str], *, prefix: str | None = None) -> TestLab:
        path = Path(topology)
        if not path.is_absolute():
            path = self._caller_directory() / path
        key = (path, prefix)
        if key in self.labs:
            return self.labs[key]
        taken = [lab.prefix for lab in self.labs.values()]
        chosen = unique_prefix(taken) if prefix is None else prefix
        try:
            plan = pipeline.compile_plan(path, chosen)
        except NsgenError as error:
            raise LabError("\n".join(messages(error))) from None
        lab = TestLab(path, chosen, plan)
        # Recorded before up: a failed or interrupted up is taken down too.
        self.labs[key] = lab
        lab.up_result = lab.up()
        return lab

    def _caller_directory(self) -> Path:
        """The directory of the file whose code called the factory: the test file, or the
        conftest.py of a fixture that wraps this one, where the relative path was written."""
        caller = Path(sys._getframe(2).f_code.co_filename)
        return caller.parent if caller.is_file() else self.base

    def close(self) -> None:
        """Take every lab down, the last made first; report the first that fails."""
        failure: LabError | None = None
        for lab in reversed(list(self.labs.values())):
            try:
                lab.down()
            except LabError as error:
                failure = failure or error
            if lab.scratch is not None:
                shutil.rmtree(lab.scratch, ignore_errors=True)
        self.labs.clear()
        if failure is not None:
            raise failure


def skip_reason() -> str | None:
    """Why labs cannot run here (None: they can)."""
    if not execute.has_net_admin():
        return "nsgen_lab needs root (CAP_NET_ADMIN) to create network namespaces"
    if shutil.which("ip") is None:
        return "nsgen_lab needs iproute2's ip"
    return None
