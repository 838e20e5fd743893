"""Ansible: a lab across hosts as one script per host, an inventory and a playbook.

nsgen generates for Ansible rather than growing its own pusher: the playbook's
ansible.builtin.script task copies each host's script there and runs it with sh, so a
target needs nothing but sh and iproute2. `run` is what `nsgen up|down|status|verify` does
for such a lab: it writes these files to a temporary directory and runs ansible-playbook.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jinja2

from nsgen import __version__, pipeline, tools
from nsgen.errors import EXIT_ERROR, EXIT_INCOMPLETE, EXIT_VERIFY_FAILED, RunnerError, printable
from nsgen.lab import Lab
from nsgen.render import TEMPLATES

INSTALL = "pip install 'nsgen[ansible]'"


def group(lab: Lab) -> str:
    """The inventory group of the lab: Ansible warns about group names that are not
    identifiers, and lab names may hold '.' and '-'."""
    return "nsgen_" + re.sub(r"[^A-Za-z0-9_]", "_", lab.name)


def _context(lab: Lab, prefix: str) -> dict[str, object]:
    return {
        "lab": lab.name,
        "count": len(lab.machines),
        "version": __version__,
        "source": printable(lab.source_name),
        "sha256": lab.source_sha256,
        "prefix_option": f" --prefix {prefix}" if prefix else "",
        "group": group(lab),
    }


def _template(name: str) -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return env.get_template(name)


def inventory(lab: Lab, prefix: str = "") -> str:
    lines = []
    for m in lab.machines:
        user, _, host = m.ssh.rpartition("@")
        line = f"{m.name} ansible_host={host}"
        lines.append(line + (f" ansible_user={user}" if user else ""))
    return _template("inventory.ini.j2").render(hosts=lines, **_context(lab, prefix))


def playbook(lab: Lab, prefix: str = "") -> str:
    return _template("playbook.yml.j2").render(**_context(lab, prefix))


def write(topology: Path, directory: Path, prefix: str = "") -> Lab:
    """DIR/HOST.sh for every host, DIR/inventory.ini and DIR/playbook.yml."""
    lab, scripts = pipeline.render_hosts(topology, prefix)
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in scripts.items():
        script = directory / f"{name}.sh"
        script.write_text(text, encoding="utf-8")
        script.chmod(0o755)
    (directory / "inventory.ini").write_text(inventory(lab, prefix), encoding="utf-8")
    (directory / "playbook.yml").write_text(playbook(lab, prefix), encoding="utf-8")
    return lab


@dataclass(frozen=True)
class HostResult:
    """What the script task reported for one host (Ansible's tree callback writes these)."""

    rc: int | None  # None: the host was not reached
    stdout: str
    stderr: str
    message: str


def read_results(tree: Path) -> dict[str, HostResult]:
    results = {}
    for path in tree.iterdir() if tree.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        rc = None if data.get("unreachable") else data.get("rc")
        results[path.name] = HostResult(
            rc if isinstance(rc, int) else None,
            str(data.get("stdout", "")),
            str(data.get("stderr", "")),
            str(data.get("msg", "")),
        )
    return results


def combined(codes: list[int]) -> int:
    """One exit status for all hosts: an error first, then a failed verify, then incomplete."""
    for code in (EXIT_ERROR, EXIT_VERIFY_FAILED, EXIT_INCOMPLETE):
        if code in codes:
            return code
    return max(codes, default=0)


def run(topology: Path, action: str, prefix: str = "", dry_run: bool = False) -> int:
    """Run ACTION on every host of the lab through ansible-playbook; the scripts' output is
    printed per host, and the exit status is the scripts' (see `combined`)."""
    program = tools.find("ansible-playbook")
    if program is None:
        raise RunnerError(
            f"{topology.name} spans hosts, which nsgen runs through ansible-playbook: "
            f"install it with {INSTALL} (or run nsgen ansible and your own Ansible)"
        )
    with tempfile.TemporaryDirectory(prefix="nsgen-ansible-") as temp:
        directory = Path(temp)
        lab = write(topology, directory, prefix)
        tree = directory / "results"
        env = dict(
            os.environ,
            ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.tree",
            ANSIBLE_CALLBACK_TREE_DIR=str(tree),
            ANSIBLE_NOCOLOR="1",
        )
        command = [
            program,
            "-i",
            str(directory / "inventory.ini"),
            str(directory / "playbook.yml"),
            "-e",
            f"action={action}",
            *(["-e", "dry_run=true"] if dry_run else []),
        ]
        print(f"{lab.name}: {action} on {len(lab.machines)} hosts through ansible-playbook")
        sys.stdout.flush()
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise RunnerError(f"cannot run {program}: {exc.strerror}") from None
        results = read_results(tree)
        if not results:
            sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
            raise RunnerError(f"ansible-playbook failed (exit {done.returncode}), see above")
        codes = []
        for m in lab.machines:
            result = results.get(m.name)
            if result is None or result.rc is None:
                why = result.message.strip() if result is not None else "no result"
                first = why.splitlines()[0] if why else "no result"
                print(f"nsgen: host {m.name} ({m.ssh}) not reached: {first}", file=sys.stderr)
                codes.append(EXIT_ERROR)
                continue
            for line in result.stdout.splitlines():
                print(f"{m.name}: {line}")
            for line in result.stderr.splitlines():
                print(f"{m.name}: {line}", file=sys.stderr)
            codes.append(result.rc)
        return combined(codes)
