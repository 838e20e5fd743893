"""The kernel's hard limits and the host's neighbour table, as far as they are decided before
any script runs: validation refuses what no host can hold, the plan estimates what the lab
needs, and the script's header names the host-wide change the opt-in makes."""

from __future__ import annotations

from pathlib import Path

from nsgen import pipeline
from tests.test_cli import run_cli


def star(hosts: int, *, interfaces: int = 1, extra: str = "") -> str:
    """hosts namespaces with `interfaces` ports each on bridge br0, one /16 of addresses."""
    lines = [extra, "[bridges.br0]", ""]
    n = 0
    for i in range(hosts):
        for j in range(interfaces):
            lines += [
                f"[namespaces.h{i}.interfaces.e{j}]",
                'bridge = "br0"',
                f'address = "10.{100 + n // 62500}.{n // 250 % 250}.{n % 250 + 1}/8"',
                "",
            ]
            n += 1
    return "\n".join(lines)


def test_a_bridge_of_1024_ports_is_refused_at_its_key_path(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text(star(1024))
    code, out, err = run_cli(["validate", str(path)])
    assert (code, out) == (1, "")
    assert err == (
        f"{path.name}: bridges.br0: bridge 'br0' would have 1024 ports; a Linux bridge holds at "
        "most 1023 (BR_MAX_PORTS): split the hosts over several bridges\n"
    )


def test_ports_are_counted_per_bridge_not_per_namespace(tmp_path: Path) -> None:
    path = tmp_path / "two.toml"
    path.write_text(star(512, interfaces=2))
    code, _, err = run_cli(["validate", str(path)])
    assert code == 1
    assert "bridge 'br0' would have 1024 ports" in err


def test_a_bridge_of_1023_ports_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "full.toml"
    path.write_text(star(1023))
    code, out, err = run_cli(["validate", str(path)])
    assert code == 0, err
    assert "1023 namespaces" in out


def test_a_neighbour_table_size_out_of_range_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "small.toml"
    path.write_text(star(2, extra="[host]\nneighbour_table = 512\n"))
    code, _, err = run_cli(["validate", str(path)])
    assert code == 1
    assert (
        "host.neighbour_table: 512 is not a neighbour table size (1024 to 16777216; "
        "the kernel's default is 1024)" in err
    )


def test_the_plan_counts_two_neighbour_entries_per_address_on_a_shared_subnet(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lab.toml"
    path.write_text(
        star(3)
        + '\n[namespaces.x.interfaces.e0]\npeer = "y:e0"\naddress = ["fd00::1/64", "10.9.0.1/30"]'
        + '\n[namespaces.y.interfaces.e0]\naddress = ["fd00::2/64", "10.77.0.1/24"]\n'
    )
    # br0's three, the pair's two IPv6 addresses; 10.9.0.1/30 and 10.77.0.1/24 share nothing.
    assert pipeline.compile_plan(path).neighbour_entries() == {4: 6, 6: 4}


def test_the_opt_in_is_a_host_wide_effect_in_the_header(tmp_path: Path) -> None:
    path = tmp_path / "lab.toml"
    path.write_text(star(2, extra="[host]\nneighbour_table = 8192\n"))
    script = pipeline.render_file(path)
    header = script[: script.index("set -eu")]
    assert "the host's neighbour tables" in header
    assert "1024/4096/8192 (never lowered)" in header
    assert "/run/nsgen/.host/neigh" in header
    assert "\nNEIGH_TABLE=8192\n" in script
    assert "\nNEIGH4=4\n" in script
    plain = tmp_path / "plain.toml"
    plain.write_text(star(2))
    assert "\nNEIGH_TABLE=0\n" in pipeline.render_file(plain)


def test_show_names_the_neighbour_table(tmp_path: Path) -> None:
    path = tmp_path / "lab.toml"
    path.write_text(star(2, extra="[host]\nneighbour_table = 8192\n"))
    code, out, err = run_cli(["show", str(path)])
    assert code == 0, err
    assert "  neighbours the host's neighbour tables hold at least 8192 entries" in out
    code, out, _ = run_cli(["show", str(path), "--json"])
    assert '"neighbour_table": 8192' in out
