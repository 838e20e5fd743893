"""Every write of the lab's record is checked: a full or read-only /run/nsgen stops the run in
one line and leaves the old record and the intent as they were, so nothing is ever orphaned.

Each test runs on a private host (tests/live.py) whose /run/nsgen is a tiny tmpfs of its own.
"""

from __future__ import annotations

import re
from pathlib import Path

from nsgen import pipeline, tools
from tests.conftest import EXAMPLES, sandbox_skip
from tests.live import FAKE_IP, run_private_host
from tests.reliability import Recorder

TINY = "mount -t tmpfs -o size=64k,mode=755 nsgen-tiny /run/nsgen || exit 99\n"
FULL = re.compile(
    r"^star: error: cannot write /run/nsgen/star/(record|netns|intent) \(No space left on "
    r"device\): (the old record and intent are kept|the namespaces it just made are removed "
    r"again); make room in /run/nsgen/star and run up again$"
)


def star(tmp_path: Path) -> Path:
    script = tmp_path / "star.sh"
    script.write_text(pipeline.render_file(EXAMPLES / "star.toml"))
    return script


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_a_disk_filling_up_after_any_operation_of_up_orphans_nothing(
    tmp_path: Path, figures: Recorder
) -> None:
    sandbox_skip()
    script, t = star(tmp_path), tmp_path
    bindir = t / "bin"
    bindir.mkdir()
    (bindir / "ip").write_text(FAKE_IP)
    (bindir / "ip").chmod(0o755)
    real = tools.find("ip")
    body = (
        TINY
        + f"""
total=$(sh {script} up --dry-run | grep -c '^ip ')
echo "$total" >{t}/total
# Full before up starts: not even the intent can be written.
dd if=/dev/zero of=/run/nsgen/filler bs=4096 2>/dev/null
sh {script} up >{t}/full.out 2>{t}/full.err
echo $? >{t}/full.rc
ls -A /run/netns >{t}/full.netns
rm /run/nsgen/filler
k=0
while [ "$k" -le "$total" ]; do
    echo "$k" >{t}/budget
    PATH={bindir}:$PATH CUT_FILE={t}/budget REAL_IP={real} FILL=/run/nsgen/filler \\
        sh {script} up >{t}/up.$k.out 2>{t}/up.$k.err
    echo $? >{t}/up.$k.rc
    rm -f /run/nsgen/filler
    sh {script} down >{t}/down.$k.out 2>{t}/down.$k.err
    echo $? >{t}/down.$k.rc
    {{ ls -A /run/netns /run/nsgen; ip -o link show | grep -v ': lo:'; }} >{t}/left.$k
    k=$((k + 1))
done
"""
    )
    done = run_private_host(body, tmp_path)
    assert done.returncode == 0, done.stderr
    assert int((t / "full.rc").read_text()) == 1
    assert [FULL.match(line) is not None for line in lines(t / "full.err")] == [True]
    assert (t / "full.netns").read_text() == ""
    total = int((t / "total").read_text())
    assert total > 5
    finished = 0
    for k in range(total + 1):
        where = f"disk full after {k} of {total} operations"
        errors = lines(t / f"up.{k}.err")
        # Removing the intent once the namespaces are recorded frees the page that the last
        # record needs: such a run finishes.
        if int((t / f"up.{k}.rc").read_text()) == 0 and errors == []:
            finished += 1
        else:
            assert int((t / f"up.{k}.rc").read_text()) == 1, where
            assert [FULL.match(line) is not None for line in errors] == [True], f"{where}: {errors}"
        assert int((t / f"down.{k}.rc").read_text()) == 0, f"{where}: {lines(t / f'down.{k}.err')}"
        assert "not created by lab" not in (t / f"down.{k}.out").read_text(), where
        assert lines(t / f"left.{k}") == ["/run/netns:", "", "/run/nsgen:"], where
    figures.record(
        "state.full",
        f"{total + 2} of {total + 2} runs (full before `up`, and after each of its {total + 1} "
        "prefixes k = 0..{total}) stopped in one line naming the record, or finished when "
        f"removing the intent freed the room the last record needed ({finished} runs); `down` "
        "then left 0 residue".replace("{total}", str(total)),
    )


def test_a_read_only_run_nsgen_stops_up_and_down_in_one_line(tmp_path: Path) -> None:
    sandbox_skip()
    script, t = star(tmp_path), tmp_path
    body = (
        TINY
        + f"""
sh {script} up >/dev/null || exit 98
ip netns del h2
ls -A /run/nsgen/star >{t}/record.before
mount -o remount,ro /run/nsgen
sh {script} up >{t}/up.out 2>{t}/up.err
echo $? >{t}/up.rc
sh {script} down >{t}/down.out 2>{t}/down.err
echo $? >{t}/down.rc
ls -A /run/netns >{t}/netns
mount -o remount,rw /run/nsgen
ls -A /run/nsgen/star >{t}/record.after
sh {script} down >{t}/down2.out 2>&1
echo $? >{t}/down2.rc
ls -A /run/netns /run/nsgen >{t}/left
"""
    )
    done = run_private_host(body, tmp_path)
    assert done.returncode == 0, done.stderr
    for action in ("up", "down"):
        assert int((t / f"{action}.rc").read_text()) == 1
        assert lines(t / f"{action}.err") == [
            "star: error: cannot take the lock of this lab in /run/nsgen/.lock (Read-only file "
            f"system): nothing was changed; make /run/nsgen writable and run {action} again"
        ]
        assert (t / f"{action}.out").read_text() == ""
    assert lines(t / "netns") == ["h1", "h3", "h4"]
    assert (t / "record.after").read_text() == (t / "record.before").read_text()
    assert int((t / "down2.rc").read_text()) == 0
    assert lines(t / "left") == ["/run/netns:", "", "/run/nsgen:"]
