"""Simulated hosts for labs across hosts: no real machine is needed, and none is contacted.

Each simulated host is a network namespace with its own mount namespace (a private /run,
so its /run/netns and /run/nsgen are its own), kept alive by a real sshd listening only on
its underlay address. The hosts sit on an underlay bridge in another namespace; a controller
namespace on the same underlay runs ssh and ansible-playbook. Keys, known_hosts and the sshd
configuration are made for the run in a temporary directory. Every namespace is named with
the run's random prefix, and everything is removed when the context ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from nsgen import tools
from tests.live import new_prefix, run

UNDERLAY = "192.0.2"
CONTROLLER = f"{UNDERLAY}.254"
SSHD = "/usr/sbin/sshd"

# Runs inside the host's network namespace, in a new mount namespace: the host's own /run.
HOST_INIT = """
set -e
mount --make-rprivate /
mount -t tmpfs nsgen-sim /run
mkdir -p /run/netns /run/nsgen /run/sshd
ip link set lo up
exec "$1" -D -e -f "$2"
"""

SSHD_CONFIG = """\
ListenAddress {address}
HostKey {key}
AuthorizedKeysFile {authorized}
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
Subsystem sftp internal-sftp
"""


def skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "simulated hosts need root"
    for tool in ("unshare", "nsenter", "ssh", "ssh-keygen", "bridge"):
        if tools.find(tool) is None:
            return f"simulated hosts need {tool}"
    if not Path(SSHD).exists():
        return "simulated hosts need sshd (apt-get install openssh-server)"
    return None


@dataclass
class SimHost:
    name: str
    address: str
    netns: str
    process: subprocess.Popen[bytes]

    def command(self, *args: str) -> list[str]:
        """ARGS run on this host: in its network and mount namespaces."""
        return ["nsenter", "-t", str(self.process.pid), "--mount", "--net", *args]

    def sh(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run(self.command(*args), check=False, env=env)

    def state(self) -> list[str]:
        """Everything a lab could leave on this host: namespaces, records, devices,
        addresses and routes outside the lab's namespaces."""
        out = self.sh(
            "sh",
            "-c",
            "ls -A /run/netns /run/nsgen; ip -br link show; ip -br address show; "
            "ip route show table all; ip -6 route show table all; bridge fdb show",
        )
        return sorted(line for line in out.stdout.splitlines() if "fe80::" not in line)


@dataclass
class Underlay:
    """The simulated hosts, their underlay and the controller of one test run."""

    workdir: Path
    names: list[str]
    prefix: str = field(default_factory=new_prefix)
    hosts: dict[str, SimHost] = field(default_factory=dict)

    @property
    def underlay(self) -> str:
        return f"{self.prefix}-ul"

    @property
    def controller(self) -> str:
        return f"{self.prefix}-ctl"

    def start(self) -> None:
        keys = self.workdir / "keys"
        keys.mkdir()
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "client")])
        (keys / "authorized_keys").write_text((keys / "client.pub").read_text())
        ip = ["ip", "-n", self.underlay]
        run(["ip", "netns", "add", self.underlay])
        run([*ip, "link", "add", "ul", "type", "bridge"])
        run([*ip, "link", "set", "ul", "up"])
        self._leg(self.controller, "ctl", CONTROLLER)
        known = []
        for index, name in enumerate(self.names, start=1):
            address = f"{UNDERLAY}.{index}"
            netns = f"{self.prefix}-{name}"
            self._leg(netns, f"h{index}", address)
            key = keys / f"{name}_host"
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
            known.append(f"{address} {(keys / f'{name}_host.pub').read_text().strip()}")
            config = keys / f"{name}_sshd_config"
            config.write_text(
                SSHD_CONFIG.format(address=address, key=key, authorized=keys / "authorized_keys")
            )
            log = (self.workdir / f"sshd-{name}.log").open("wb")
            process = subprocess.Popen(
                [
                    "nsenter",
                    f"--net=/run/netns/{netns}",
                    "unshare",
                    "--mount",
                    "sh",
                    "-c",
                    HOST_INIT,
                    "sh",
                    SSHD,
                    str(config),
                ],
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
            self.hosts[name] = SimHost(name, address, netns, process)
        (keys / "known_hosts").write_text("\n".join(known) + "\n")
        for host in self.hosts.values():
            self._wait_for_ssh(host)

    def _leg(self, netns: str, port: str, address: str) -> None:
        if netns != self.underlay:
            run(["ip", "netns", "add", netns])
        run(
            [
                "ip", "link", "add", port, "netns", self.underlay, "type", "veth",
                "peer", "name", "eth0", "netns", netns,
            ]
        )  # fmt: skip
        run(["ip", "-n", self.underlay, "link", "set", port, "master", "ul", "up"])
        run(["ip", "-n", netns, "address", "add", f"{address}/24", "dev", "eth0"])
        run(["ip", "-n", netns, "link", "set", "eth0", "up"])
        run(["ip", "-n", netns, "link", "set", "lo", "up"])

    def ssh_options(self) -> list[str]:
        keys = self.workdir / "keys"
        return [
            "-o", f"UserKnownHostsFile={keys / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=yes",
            "-o", f"IdentityFile={keys / 'client'}",
            "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=5",
        ]  # fmt: skip

    def _wait_for_ssh(self, host: SimHost) -> None:
        deadline = time.monotonic() + 20
        while True:
            probe = self.on_controller("ssh", *self.ssh_options(), f"root@{host.address}", "true")
            if probe.returncode == 0:
                return
            if host.process.poll() is not None or time.monotonic() > deadline:
                log = (self.workdir / f"sshd-{host.name}.log").read_text()
                raise AssertionError(f"sshd on {host.name} did not come up: {probe.stderr}{log}")
            time.sleep(0.1)

    def ansible_env(self) -> dict[str, str]:
        """ansible-playbook's environment on the controller: this run's keys and
        known_hosts, and every file it writes kept in the work directory (or the
        simulated host's private /run)."""
        home = self.workdir / "ansible"
        home.mkdir(exist_ok=True)
        return dict(
            os.environ,
            ANSIBLE_HOME=str(home),
            ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
            ANSIBLE_REMOTE_TMP="/run/ansible-tmp",
            ANSIBLE_SSH_CONTROL_PATH_DIR=str(home / "cp"),
            ANSIBLE_SSH_ARGS=" ".join(
                [*self.ssh_options(), "-o", "ControlMaster=auto", "-o", "ControlPersist=60s"]
            ),
            ANSIBLE_HOST_KEY_CHECKING="True",
            ANSIBLE_REMOTE_USER="root",
            ANSIBLE_BECOME_METHOD="su",
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_RETRY_FILES_ENABLED="False",
        )

    def on_controller(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["nsenter", f"--net=/run/netns/{self.controller}", *args],
            capture_output=True,
            text=True,
            check=False,
            env=env,
            timeout=timeout,
        )

    def underlay_state(self) -> list[str]:
        out = run(["ip", "-n", self.underlay, "-br", "link", "show"], check=False).stdout
        return sorted(out.splitlines())

    def stop(self) -> None:
        namespaces = [self.controller, *(h.netns for h in self.hosts.values())]
        for netns in namespaces:
            _kill_inside(netns)
        for host in self.hosts.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                host.process.wait(timeout=10)
        for netns in [*namespaces, self.underlay]:
            run(["ip", "netns", "del", netns], check=False)


def _kill_inside(netns: str) -> None:
    """Every process in network namespace NETNS (sshd, its sessions, ssh masters): that
    namespace is this run's own, so nothing else can be in it."""
    try:
        target = os.stat(f"/run/netns/{netns}").st_ino
    except OSError:
        return
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.stat(entry / "ns" / "net").st_ino == target:
                os.kill(int(entry.name), signal.SIGKILL)
        except OSError:
            continue


@contextlib.contextmanager
def simulated(workdir: Path, names: list[str]) -> Iterator[Underlay]:
    underlay = Underlay(workdir, names)
    try:
        underlay.start()
        yield underlay
    finally:
        underlay.stop()
