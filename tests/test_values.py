"""nsgen.validate.values: the fast reading of plain IPv4 addresses decides exactly as
ipaddress does, on every address and prefix length of that form and on near misses."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nsgen.load import Source
from nsgen.model import TopologySpec
from nsgen.validate import values
from nsgen.validate.context import Context

octets = st.one_of(
    st.integers(0, 255).map(str),
    st.sampled_from(["0", "00", "01", "255", "256", "999", "1000", "", "-1", "+1", " 1", "1e1"]),
)
lengths = st.one_of(
    st.integers(0, 32).map(str),
    st.sampled_from(["00", "08", "33", "", "255.255.255.0", "0.0.0.255", "-1", " 24"]),
)
addresses = st.builds(
    lambda a, b, c, d, n: f"{a}.{b}.{c}.{d}/{n}", octets, octets, octets, octets, lengths
)
# Where the answer changes: network and broadcast, 0/8, loopback, multicast and its edges.
firsts = st.sampled_from([0, 1, 10, 126, 127, 128, 169, 223, 224, 239, 240, 255])
edges = st.builds(
    lambda a, last, n: f"{a}.0.0.{last}/{n}",
    firsts,
    st.sampled_from([0, 1, 3, 254, 255]),
    st.sampled_from([0, 1, 8, 24, 30, 31, 32]),
)


def context() -> Context:
    source = Source(Path("lab.toml"), {}, hashlib.sha256(b"").hexdigest())
    return Context(source, TopologySpec(), "", set())


def parse(text: str) -> tuple[list[str], list[tuple[str, str]]]:
    ctx = context()
    out = values.parse_addresses(ctx, "host.interfaces.eth0.address", [text])
    return [repr(a) for a in out], [(i.path, i.message) for i in ctx.issues]


@settings(max_examples=1500, deadline=None)
@given(st.one_of(addresses, edges))
@example("10.0.0.0/24")
@example("10.0.0.255/24")
@example("10.0.0.0/31")
@example("0.0.0.0/0")
@example("127.0.0.1/8")
@example("224.0.0.1/24")
@example("010.0.0.1/24")
@example("10.0.0.1/08")
def test_plain_ipv4_reads_as_ipaddress_does(text: str) -> None:
    fast = parse(text)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(values, "_plain_ipv4", lambda _: None)
        slow = parse(text)
    assert fast == slow


def test_the_fast_path_is_taken_for_the_plain_form() -> None:
    # Were it never taken, the equivalence above would hold trivially.
    assert values._plain_ipv4("10.1.2.3/24") == values.ip_interface("10.1.2.3/24")
    assert values._plain_ipv4("10.1.2.0/24") == (
        "'10.1.2.0/24' is the network or broadcast address of 10.1.2.0/24"
    )
    assert values._plain_ipv4("10.1.2.3/255.255.255.0") is None
