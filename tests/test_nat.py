"""NAT ([host] nat), live, only on a private host: its own network and mount namespace stand in
for the host, with an uplink veth to an "outside" namespace that has no route back to the
lab, so a lab namespace's ping to the outside is answered only because of NAT. The real
host's forwarding and firewall are never used."""

from __future__ import annotations

from pathlib import Path

from nsgen import pipeline
from tests.conftest import sandbox_skip
from tests.live import run_private_host

LAB = """
name = "{name}"

[bridges.{bridge}]
address = "{net}.1/24"

[namespaces.{host}]
routes = [{{ to = "default", via = "{net}.1" }}]
interfaces.eth0 = {{ bridge = "{bridge}", address = "{net}.11/24" }}

[host]
nat = ["{net}.0/24"]

[[checks]]
from = "{host}"
to = "192.0.2.2"
"""

OUTSIDE = """
ip netns add out
ip link add up0 type veth peer name eth0 netns out
ip address add 192.0.2.1/24 dev up0
ip link set up0 up
ip -n out address add 192.0.2.2/24 dev eth0
ip -n out link set eth0 up
ip -n out link set lo up
# Someone else's firewall, which must be as it was after every down.
nft add table ip theirs
nft add chain ip theirs fwd '{ type filter hook forward priority 0; policy accept; }'
nft add rule ip theirs fwd counter
iptables -t nat -A POSTROUTING -s 203.0.113.0/24 -j RETURN
"""

FIREWALL = "{ nft list ruleset | grep -v 'counter packets'; iptables-save | grep -v '^#'; }"


def script(tmp_path: Path, name: str, net: str, bridge: str, host: str) -> Path:
    topology = tmp_path / f"{name}.toml"
    topology.write_text(LAB.format(name=name, net=net, bridge=bridge, host=host))
    out = tmp_path / f"{name}.sh"
    out.write_text(pipeline.render_file(topology))
    return out


def step(tmp_path: Path, label: str, command: str) -> str:
    """One command of the private host's script, its output and exit code kept under label."""
    return f"{command} >{tmp_path}/{label}.out 2>&1; echo $? >{tmp_path}/{label}.rc\n"


def result(tmp_path: Path, label: str) -> tuple[int, str]:
    return int((tmp_path / f"{label}.rc").read_text()), (tmp_path / f"{label}.out").read_text()


def test_nat_reaches_out_and_two_labs_share_forwarding(tmp_path: Path) -> None:
    sandbox_skip()
    a = script(tmp_path, "nata", "10.70.0", "bra", "a1")
    b = script(tmp_path, "natb", "10.71.0", "brb", "b1")
    t = tmp_path
    body = (
        OUTSIDE + f"{FIREWALL} >{t}/fw.before\ncat /proc/sys/net/ipv4/ip_forward >{t}/fwd.before\n"
    )
    body += step(t, "a-up", f"sh {a} up")
    body += step(t, "a-verify", f"sh {a} verify")
    body += step(t, "a-status", f"sh {a} status")
    # Without the lab's table the outside cannot answer: it has no route back to the lab.
    body += "nft delete table ip nsgen-nata\n"
    body += step(t, "a-cut", "ip netns exec a1 ping -c1 -W2 192.0.2.2")
    body += step(t, "a-status-cut", f"sh {a} status")
    body += step(t, "a-repair", f"sh {a} up")
    body += step(t, "a-verify2", f"sh {a} verify")
    body += step(t, "b-up", f"sh {b} up")
    body += step(t, "a-down", f"sh {a} down")
    body += f"cat /proc/sys/net/ipv4/ip_forward >{t}/fwd.between\n"
    body += step(t, "b-verify", f"sh {b} verify")
    body += step(t, "b-down", f"sh {b} down")
    body += f"{FIREWALL} >{t}/fw.after\ncat /proc/sys/net/ipv4/ip_forward >{t}/fwd.after\n"
    body += f"ls -A /run/nsgen >{t}/left\nls -A /run/nsgen/.host >{t}/host-left\n"
    done = run_private_host(body, tmp_path)
    assert done.returncode == 0, done.stderr

    code, out = result(t, "a-up")
    assert code == 0, out
    assert "nata: host IPv4 forwarding was 0: turned on for NAT" in out
    code, out = result(t, "a-verify")
    assert code == 0, out
    assert "ok    a1 -> 192.0.2.2 (checks[0])" in out
    code, out = result(t, "a-status")
    assert code == 0, out
    assert "ok         nat table ip nsgen-nata" in out
    assert result(t, "a-cut")[0] != 0
    code, out = result(t, "a-status-cut")
    assert code == 3 and "missing    nat table ip nsgen-nata" in out
    assert result(t, "a-repair")[0] == 0
    assert result(t, "a-verify2")[0] == 0
    assert result(t, "b-up")[0] == 0
    code, out = result(t, "a-down")
    assert code == 0
    assert "nata: host IPv4 forwarding stays on: 1 other lab(s) with NAT still need it" in out
    assert (t / "fwd.between").read_text().strip() == "1"
    code, out = result(t, "b-verify")
    assert code == 0, out
    code, out = result(t, "b-down")
    assert "natb: host IPv4 forwarding put back to 0, as it was before NAT" in out
    assert (t / "fw.after").read_text() == (t / "fw.before").read_text()
    assert (t / "fwd.after").read_text() == (t / "fwd.before").read_text()
    # /run/nsgen/.host is shared by every lab's host-wide records: it stays, empty.
    assert (t / "left").read_text().split() == [".host"]
    assert (t / "host-left").read_text() == ""


def test_nat_off_in_a_new_version_removes_the_table(tmp_path: Path) -> None:
    sandbox_skip()
    a = script(tmp_path, "nata", "10.70.0", "bra", "a1")
    plain = tmp_path / "plain"
    plain.mkdir()
    text = LAB.format(name="nata", net="10.70.0", bridge="bra", host="a1")
    (plain / "nata.toml").write_text(text.replace('nat = ["10.70.0.0/24"]', ""))
    off = plain / "nata.sh"
    off.write_text(pipeline.render_file(plain / "nata.toml"))
    t = tmp_path
    body = OUTSIDE + step(t, "up", f"sh {a} up") + step(t, "off", f"sh {off} up")
    body += step(t, "table", "nft list table ip nsgen-nata")
    body += f"cat /proc/sys/net/ipv4/ip_forward >{t}/fwd\n" + step(t, "down", f"sh {off} down")
    assert run_private_host(body, tmp_path).returncode == 0
    assert result(t, "up")[0] == 0
    code, out = result(t, "off")
    assert code == 0, out
    assert "put back to 0" in out
    assert result(t, "table")[0] != 0
    assert (t / "fwd").read_text().strip() == "0"


def test_without_nft_up_says_so_and_changes_nothing(tmp_path: Path) -> None:
    sandbox_skip()
    a = script(tmp_path, "nata", "10.70.0", "bra", "a1")
    t = tmp_path
    # In the private mount namespace only: nft becomes a file that cannot be run.
    body = 'mount --bind /dev/null "$(command -v nft)"\n' + step(t, "up", f"sh {a} up")
    body += f"ls -A /run/netns /run/nsgen >{t}/left\nip -o link show | wc -l >{t}/links\n"
    assert run_private_host(body, tmp_path).returncode == 0
    code, out = result(t, "up")
    assert code == 1
    assert out.splitlines() == [
        "nata: error: [host] nat needs nftables and nft is not installed: nothing was changed"
    ]
    assert (t / "left").read_text().split() == ["/run/netns:", "/run/nsgen:"]
    assert (t / "links").read_text().strip() == "1"


def test_the_shared_forwarding_record_is_locked_against_the_living_only(tmp_path: Path) -> None:
    """/run/nsgen/.host/forward.lock: held by a live process, up waits, then is refused in one
    line; held by a process that is gone, it is taken over and up converges."""
    sandbox_skip()
    a = script(tmp_path, "nata", "10.70.0", "bra", "a1")
    t = tmp_path
    lock = "/run/nsgen/.host/forward.lock"
    body = OUTSIDE + "mkdir -p /run/nsgen/.host\nsleep 60 &\nholder=$!\n"
    body += "start=$(awk '{ print $22 }' /proc/$holder/stat)\n"
    body += f'ln -s "$holder $start up" {lock}\necho "$holder" >{t}/holder\n'
    body += step(t, "refused", f"NSGEN_LOCK_WAIT=1 timeout 30 sh {a} up")
    body += 'kill "$holder"\nwait "$holder"\n'
    body += step(t, "up", f"timeout 30 sh {a} up")
    body += f"ls -A /run/nsgen/.host >{t}/host\n" + step(t, "down", f"timeout 30 sh {a} down")
    assert run_private_host(body, tmp_path).returncode == 0
    holder = (t / "holder").read_text().strip()
    code, out = result(t, "refused")
    assert code == 1, out
    assert out.splitlines()[-1] == (
        f"nata: error: pid {holder} (up) still holds the lock of forward (a record shared by "
        "the labs of this host) after 1 s; run up again when it ends"
    )
    assert "nata: waiting for pid" in out
    code, out = result(t, "up")
    assert code == 0, out
    assert (t / "host").read_text().split() == ["forward"]
    assert result(t, "down")[0] == 0


def test_a_forwarding_record_others_could_write_or_a_symlink_is_refused(tmp_path: Path) -> None:
    """A planted /run/nsgen/.host/forward must not make down turn the host's forwarding off,
    and a symlink there must not make up write where it points."""
    sandbox_skip()
    a = script(tmp_path, "nata", "10.70.0", "bra", "a1")
    t = tmp_path
    record = "/run/nsgen/.host/forward"
    planted = "original net.ipv4.ip_forward 0 1\\nlab nata 1\\n"
    body = OUTSIDE + "echo 1 >/proc/sys/net/ipv4/ip_forward\nmkdir -p /run/nsgen/.host\n"
    body += f"printf '{planted}' >{record}\nchmod 666 {record}\n"
    body += step(t, "planted", f"sh {a} down")
    body += f"cat /proc/sys/net/ipv4/ip_forward >{t}/fwd\nrm {record}\n"
    body += f"ln -s {t}/target {record}\n" + step(t, "symlink", f"sh {a} up")
    body += f"ls -A /run/netns >{t}/netns\n"
    assert run_private_host(body, tmp_path).returncode == 0
    code, out = result(t, "planted")
    assert code == 1
    assert out.splitlines()[-1] == (
        f"nata: error: refusing: {record} is writable by group or others (mode 666): this record "
        "cannot be trusted; check who changed it, then chown root and chmod go-w it, or remove it"
    )
    assert (t / "fwd").read_text().strip() == "1"
    code, out = result(t, "symlink")
    assert code == 1
    assert out.splitlines()[-1].startswith(f"nata: error: refusing: {record} is a symlink: ")
    assert not (t / "target").exists()
