"""Benchmark: a lab across 3 simulated hosts x 100 namespaces, through the playbook against
the same per-host scripts run directly.

    sudo python3 -m bench.multihost                # 3 repetitions
    sudo python3 -m bench.multihost --per-host 20 --reps 1 --out /tmp/m   # a quick run

The simulated hosts are those of the test suite (tests/simhosts.py): network namespaces with
a private /run, each kept alive by a real sshd, on an underlay bridge, reached over real ssh
by ansible-playbook from a controller namespace. The lab: one bridge on every host joined by
VXLAN (head-end replication), N namespaces per host on it. *playbook*: `nsgen ACTION FILE` on
the controller (it renders every host's script and runs ansible-playbook); *direct*: the same
scripts run on the hosts at once, without ssh or Ansible. Writes docs/benchmarks-multihost.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench.run import machine
from nsgen import playbook
from tests import simhosts
from tests.live import host_lock

HOSTS = ["a", "b", "c"]
ACTIONS = ["up", "up again", "status", "down"]


def topology(per_host: int) -> str:
    lines = ['name = "mh"', ""]
    for index, host in enumerate(HOSTS, start=1):
        lines += [f"[hosts.{host}]", f'address = "{simhosts.UNDERLAY}.{index}"', ""]
    lines += ["[bridges.lan]", f"hosts = {HOSTS!r}".replace("'", '"'), ""]
    for h, host in enumerate(HOSTS):
        for i in range(per_host):
            name = f"{host}{i}"
            address = f"10.70.{h}.{i + 1}/16"
            lines += [
                f"[namespaces.{name}]",
                f'host = "{host}"',
                f"[namespaces.{name}.interfaces.eth0]",
                'bridge = "lan"',
                f'address = "{address}"',
                "",
            ]
    return "\n".join(lines)


def timed(run: list[subprocess.Popen[str]] | subprocess.Popen[str]) -> None:
    procs = run if isinstance(run, list) else [run]
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"failed ({proc.returncode}): {out[-2000:]}{err[-2000:]}")


def through_playbook(underlay: simhosts.Underlay, action: str, path: Path) -> float:
    verb = action.split()[0]
    command = ["nsenter", f"--net=/run/netns/{underlay.controller}", sys.executable]
    command += ["-m", "nsgen", verb, str(path)]
    started = time.monotonic()
    timed(
        subprocess.Popen(
            command, env=underlay.ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )
    )  # fmt: skip
    return time.monotonic() - started


def direct(underlay: simhosts.Underlay, action: str, scripts: Path) -> float:
    verb = action.split()[0]
    started = time.monotonic()
    timed(
        [
            subprocess.Popen(
                host.command("sh", str(scripts / f"{name}.sh"), verb),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for name, host in underlay.hosts.items()
        ]
    )  # fmt: skip
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python3 -m bench.multihost")
    parser.add_argument("--per-host", type=int, default=100)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args(argv)
    reason = simhosts.skip_reason()
    if reason is not None:
        raise SystemExit(reason)
    results: dict[tuple[str, str], list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="nsgen-bench-mh-") as temp:
        work = Path(temp)
        path = work / "mh.toml"
        path.write_text(topology(args.per_host))
        scripts = work / "scripts"
        playbook.write(path, scripts)
        with host_lock(), simhosts.simulated(work, HOSTS) as underlay:
            for rep in range(args.reps):
                for method in ("playbook", "direct"):
                    for action in ACTIONS:
                        if method == "playbook":
                            seconds = through_playbook(underlay, action, path)
                        else:
                            seconds = direct(underlay, action, scripts)
                        results[(method, action)].append(seconds)
                        print(f"rep {rep + 1} {method:<8} {action:<8} {seconds:6.2f} s", flush=True)
    write_report(results, args, args.out / "benchmarks-multihost.md")


def write_report(
    results: dict[tuple[str, str], list[float]], args: argparse.Namespace, target: Path
) -> None:
    def median(method: str, action: str) -> float:
        return statistics.median(results[(method, action)])

    command = "sudo python3 -m bench.multihost"
    if args.per_host != 100 or args.reps != 3:
        command += f" --per-host {args.per_host} --reps {args.reps}"
    total = args.per_host * len(HOSTS)
    out = [
        "# Benchmark: a lab across hosts",
        "",
        "Produced by `bench/multihost.py` on this project's machine; reproduce with",
        "",
        f"    {command}",
        "",
        f"Machine: {machine()}.",
        "",
        f"{len(HOSTS)} simulated hosts x {args.per_host} namespaces ({total} in all), each on one",
        "bridge that spans the three hosts (a VXLAN device per host, head-end replication).",
        "A simulated host is a network namespace with a private /run and a real sshd; all",
        "of them share the machine's 2 CPUs, so the hosts' work does not run in parallel",
        "as it would on three machines. *playbook*: `nsgen ACTION FILE` on a controller",
        "namespace, which renders every host's script and runs `ansible-playbook` over ssh",
        "(ControlPersist on); *direct*: the same scripts run on the three hosts at once",
        f"without ssh. Medians in seconds of {args.reps} repetitions.",
        "",
        "| method | " + " | ".join(ACTIONS) + " |",
        "|---|" + "---|" * len(ACTIONS),
    ]
    for method in ("playbook", "direct"):
        cells = [f"{median(method, a):.2f}" for a in ACTIONS]
        out.append(f"| {method} | " + " | ".join(cells) + " |")
    cost = [f"{median('playbook', a) - median('direct', a):.2f}" for a in ACTIONS]
    out += [
        "| playbook's own cost | " + " | ".join(cost) + " |",
        "",
        "The playbook's own cost is Python's and Ansible's start-up, the ssh sessions and",
        "copying each script to its host.",
        "",
        "Every run:",
        "",
    ]
    for (method, action), values in sorted(results.items()):
        out.append(f"- {method} {action}: " + ", ".join(f"{v:.2f}" for v in values))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(out) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
