"""Render: print a Plan as the POSIX shell script, through Jinja2.

Everything the template prints is prepared here as plain strings: the template only loops.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from nsgen import __version__, runtime
from nsgen.errors import printable
from nsgen.lab import End, IPInterface, IPNetwork, Lab, Shaping, Vxlan, micros_text, where
from nsgen.plan import (
    CHILD_HANDLE,
    ROOT_HANDLE,
    AddAddress,
    AddBridge,
    AddFlood,
    AddMacvlan,
    AddNamespace,
    AddRoute,
    AddTap,
    AddVeth,
    AddVxlan,
    EnableForwarding,
    Plan,
    RaiseNeighbourTable,
    RunExec,
    SetLink,
    SetQdisc,
    SetSysctl,
    StartProcess,
    WriteFile,
)

# Wider rows would push the command column off a reviewer's screen; longer ones just overflow.
MAX_FIELD_WIDTH = 44

# The routing protocol number of every route nsgen adds (iproute2 takes a number; none of
# /etc/iproute2/rt_protos): pruning removes only routes of this protocol, never a daemon's.
ROUTE_PROTO = 245

FORWARDING = (
    'sh -c "echo 1 >/proc/sys/net/ipv4/ip_forward && '
    'echo 1 >/proc/sys/net/ipv6/conf/all/forwarding"'
)


def _dash(value: object) -> str:
    return "-" if value is None else str(value)


def _opt(keyword: str, value: object) -> str:
    return "" if value is None else f" {keyword} {value}"


def _end_options(end: End) -> str:
    return f"{_opt('netns', end.namespace)}{_opt('mtu', end.mtu)}{_opt('address', end.mac)}"


def route_key(to: IPNetwork | None) -> str:
    """A route's destination as `ip route show` prints it, for the script to compare."""
    if to is None:
        return "default"
    if to.prefixlen == to.max_prefixlen:
        return str(to.network_address)
    return str(to)


def address_command(dev: str, address: IPInterface) -> str:
    # nodad: an address that is usable the moment up returns, so verify can run at once.
    nodad = " nodad" if address.version == 6 else ""
    return f"address replace {address} dev {dev}{nodad}"


Row = tuple[list[str], str]


def _netns_row(op: AddNamespace) -> Row:
    return ["netns", "-", op.name], f"netns add {op.name}"


def _bridge_row(op: AddBridge) -> Row:
    options = f"{_opt('netns', op.namespace)}{_opt('address', op.mac)}"
    return ["bridge", _dash(op.namespace), op.name], f"link add name {op.name}{options} type bridge"


def _veth_row(op: AddVeth) -> Row:
    a, b = op.a, op.b
    return (
        ["veth", _dash(a.namespace), a.name, _dash(b.namespace), b.name],
        f"link add name {a.name}{_end_options(a)} type veth peer name {b.name}{_end_options(b)}",
    )


def _macvlan_row(op: AddMacvlan) -> Row:
    m, end = op.macvlan, op.macvlan.end
    return (
        ["macvlan", _dash(end.namespace), end.name, m.parent, m.mode],
        f"link add link {m.parent} name {end.name}{_end_options(end)} type macvlan mode {m.mode}",
    )


def vxlan_command(x: Vxlan) -> str:
    remote = "" if x.remote is None else f" remote {x.remote}"
    return (
        f"link add name {x.name}{_opt('netns', x.namespace)} address {x.mac} type vxlan "
        f"id {x.vni} local {x.local}{remote} dstport {x.port}{_opt('dev', x.device)}"
    )


def _vxlan_row(op: AddVxlan) -> Row:
    x = op.vxlan
    return ["vxlan", _dash(x.namespace), x.name], vxlan_command(x)


def _flood_row(op: AddFlood) -> Row:
    # A `bridge -batch` command, not ip's: the runtime runs these rows through bridge.
    command = f"fdb append 00:00:00:00:00:00 dev {op.dev} dst {op.dst}"
    return ["fdb", "-", op.dev, str(op.dst)], command


def _link_row(op: SetLink) -> Row:
    # Half of all rows (every device, each loopback too): written out, without helper calls.
    namespace, name, master, mtu, mac = op
    command = f"link set dev {name}"
    if mtu is not None:
        command += f" mtu {mtu}"
    if mac is not None:
        command += f" address {mac}"
    if master is not None:
        # A port has no use for an IPv6 link-local address of its own; making one costs DAD,
        # MLD reports and router solicitations into its peer for every port of a large lab.
        # The runtime drops the option on a host without IPv6, where the kernel refuses it.
        command += f" addrgenmode none master {master}"
    fields = [
        "link",
        "-" if namespace is None else namespace,
        name,
        "-" if master is None else master,
        "-" if mtu is None else str(mtu),
        "-" if mac is None else mac,
    ]
    return fields, command + " up"


def _address_row(op: AddAddress) -> Row:
    return (
        ["addr", _dash(op.namespace), op.dev, str(op.address), str(op.address.network)],
        address_command(op.dev, op.address),
    )


def _route_row(op: AddRoute) -> Row:
    """`route NS KEY VIAS`, and `DEV METRIC` after them when either is set: VIAS are the
    gateways joined by commas, "-" for a device route. A multipath route puts proto and
    metric before its next hops, which end the command."""
    r = op.route
    destination = "default" if r.to is None else str(r.to)
    fields = ["route", _dash(r.namespace), route_key(r.to), ",".join(map(str, r.vias)) or "-"]
    if r.dev is not None or r.metric is not None:
        fields += [_dash(r.dev), _dash(r.metric)]
    metric = _opt("metric", r.metric)
    if len(r.vias) > 1:
        hops = "".join(f" nexthop via {via}{_opt('dev', r.dev)}" for via in r.vias)
        return fields, f"route replace {destination} proto {ROUTE_PROTO}{metric}{hops}"
    via = "".join(f" via {via}" for via in r.vias)
    return (
        fields,
        f"route replace {destination}{via}{_opt('dev', r.dev)}{metric} proto {ROUTE_PROTO}",
    )


def _forwarding_row(op: EnableForwarding) -> Row:
    return ["fwd", op.namespace], f"netns exec {op.namespace} {FORWARDING}"


def _sysctl_row(op: SetSysctl) -> Row:
    sysctl = op.sysctl
    # Fields are split on blanks: a value of several words is joined with commas there.
    return (
        ["sysctl", op.namespace, sysctl.key, sysctl.value.replace(" ", ","), sysctl.probe],
        f'netns exec {op.namespace} sh -c "echo {sysctl.value} >/proc/sys/{sysctl.path}"',
    )


def _tap_row(op: AddTap) -> Row:
    return (
        ["tap", _dash(op.namespace), op.name, _dash(op.owner), _dash(op.group)],
        f"tuntap add dev {op.name} mode tap{_opt('user', op.owner)}{_opt('group', op.group)}",
    )


def _qdisc_row(op: SetQdisc) -> Row:
    """Fields in the kernel's units, as `tc -j` reports them (tbf: bytes per second, bytes,
    microseconds; netem: microseconds and percent), beside the tc command as written."""
    if op.child:
        where_ = f"parent {ROOT_HANDLE}1 handle {CHILD_HANDLE}"
    else:
        where_ = f"root handle {ROOT_HANDLE}"
    head = ["qdisc", _dash(op.namespace), op.dev, "child" if op.child else "root", op.kind]
    return head + qdisc_fields(op.kind, op.shaping), (
        f"qdisc replace dev {op.dev} {where_} {qdisc_options(op.kind, op.shaping)}"
    )


def qdisc_fields(kind: str, shaping: Shaping) -> list[str]:
    if kind == "tbf":
        assert shaping.rate is not None
        return [str(shaping.rate // 8), str(shaping.burst), str(shaping.latency)]
    return [_dash(shaping.delay), _dash(shaping.jitter), _dash(shaping.loss)]


def qdisc_options(kind: str, shaping: Shaping) -> str:
    """The tc options: as the topology wrote them, with tbf's derived burst and latency."""
    if kind == "tbf":
        assert shaping.latency is not None
        rate, latency = shaping.text("rate"), micros_text(shaping.latency)
        return f"tbf rate {rate} burst {shaping.burst}b latency {latency}"
    options = "netem"
    if shaping.delay is not None:
        options += f" delay {shaping.text('delay')}"
        if shaping.jitter is not None:
            options += f" {shaping.text('jitter')}"
    if shaping.loss is not None:
        options += f" loss {shaping.loss}%"
    return options


# One plan line per operation, by type (not a match statement: labs have thousands): the
# fields the script's runtime matches on, and the ip-batch command.
_ROWS: dict[type, Callable[[Any], Row]] = {
    AddNamespace: _netns_row,
    AddBridge: _bridge_row,
    AddVeth: _veth_row,
    AddMacvlan: _macvlan_row,
    AddTap: _tap_row,
    AddVxlan: _vxlan_row,
    AddFlood: _flood_row,
    SetLink: _link_row,
    AddAddress: _address_row,
    AddRoute: _route_row,
    EnableForwarding: _forwarding_row,
    SetSysctl: _sysctl_row,
    SetQdisc: _qdisc_row,
}


# Not ip commands: the neighbour table is a host sysctl (the runtime's own step and the
# script's NEIGH_TABLE carry it); files, processes and exec have their own tables and modules.
_NOT_ROWS = (RaiseNeighbourTable, WriteFile, StartProcess, RunExec)


def plan_rows(plan: Plan) -> list[str]:
    rows = [_ROWS[type(op)](op) for op in plan.ops if type(op) not in _NOT_ROWS]
    heads = [" ".join(fields) for fields, _ in rows]
    width = min(MAX_FIELD_WIDTH, max(map(len, heads), default=0))
    return [f"{head:<{width}} | {command}" for head, (_, command) in zip(heads, rows, strict=True)]


def check_rows(plan: Plan) -> list[str]:
    """Rows "FROM DEVICE TARGET EXPECT[+WAIT] WHAT": TARGET an address (a ping),
    tcp:ADDRESS:PORT, or command:N (line N of check_commands); WAIT the seconds a declared
    check may retry for."""
    rows = []
    commands = 0
    for c in plan.checks:
        if c.command is not None:
            commands += 1
            target = f"command:{commands}"
        elif c.port is not None:
            target = f"tcp:{c.address}:{c.port}"
        else:
            target = str(c.address)
        expect = "reachable" if c.reachable else "unreachable"
        wait = "" if c.wait is None else f"+{c.wait}"
        rows.append(f"{_dash(c.namespace)} {_dash(c.device)} {target} {expect}{wait} {c.what}")
    return rows


def check_commands(plan: Plan) -> list[str]:
    """The commands of command checks, one per line, numbered as check_rows names them."""
    commands = [c.command for c in plan.checks if c.command is not None]
    return [f"{n} {command}" for n, command in enumerate(commands, 1)]


def nat_rules(lab: Lab) -> list[str]:
    """The lab's nftables table, whole: created if missing, then replaced in one `nft -f`
    transaction, so a re-run repairs it and nobody else's tables or chains are touched."""
    if not lab.nat:
        return []
    table = f"ip nsgen-{lab.name}"
    devices = [b.name for b in lab.bridges if b.namespace is None]
    devices += [e.name for v in lab.veths for e in (v.a, v.b) if e.namespace is None]
    nets = ", ".join(map(str, lab.nat))
    quoted = ", ".join(f'"{d}"' for d in devices)
    leaving = f"oifname != {{ {quoted} }} " if devices else ""
    return [
        f"table {table}",
        f"delete table {table}",
        f"table {table} {{",
        "\tchain postrouting {",
        "\t\ttype nat hook postrouting priority srcnat; policy accept;",
        f"\t\tip saddr {{ {nets} }} {leaving}masquerade",
        "\t}",
        "}",
    ]


def hosts_lines(plan: Plan) -> list[str]:
    """The hosts file of every namespace, its first line the mark the script checks."""
    if not plan.lab.names:
        return []
    lab = plan.lab.name
    width = max((len(str(h.address)) for h in plan.hosts), default=9)
    lines = [
        f"# nsgen:{lab} hosts: written by nsgen for lab {lab}; up rewrites it, down removes it",
        f"{'127.0.0.1':<{width}}  localhost",
        f"{'::1':<{width}}  localhost ip6-localhost ip6-loopback",
    ]
    return lines + [f"{h.address!s:<{width}}  {' '.join(h.names)}" for h in plan.hosts]


def summary(lab: Lab) -> list[str]:
    """The reviewer's table at the top of the script."""
    table: list[tuple[str, str, str, str]] = [("WHERE", "DEVICE", "CONNECTS TO", "ADDRESSES")]
    for bridge in lab.bridges:
        table.append(
            (
                where(bridge.namespace),
                bridge.name,
                "bridge",
                " ".join(str(a) for a in bridge.addresses) or "-",
            )
        )
    for veth in lab.veths:
        for end, other in ((veth.a, veth.b), (veth.b, veth.a)):
            if end.master is not None:
                continue
            link = (
                f"bridge {other.master} (port {other.name})"
                if other.master is not None
                else f"veth {other.ref}"
            )
            table.append(
                (
                    where(end.namespace),
                    end.name,
                    link,
                    " ".join(str(a) for a in end.addresses) or "-",
                )
            )
    for m in lab.macvlans:
        addresses = " ".join(str(a) for a in m.end.addresses) or "-"
        table.append(
            (
                where(m.end.namespace),
                m.end.name,
                f"macvlan on host:{m.parent} ({m.mode})",
                addresses,
            )
        )
    for tap in lab.taps:
        table.append(
            (
                where(tap.namespace),
                tap.name,
                tap_connects(tap.owner, tap.group, tap.master),
                " ".join(str(a) for a in tap.addresses) or "-",
            )
        )
    for x in lab.vxlans:
        if x.master is None:
            far = ", ".join(x.remotes)
            table.append(
                (
                    where(x.namespace),
                    x.name,
                    f"vxlan {x.vni} to host {far} ({x.carries})",
                    " ".join(str(a) for a in x.addresses) or "-",
                )
            )
    widths = [max(len(r[i]) for r in table) for i in range(3)]
    lines = [
        f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}".rstrip()
        for r in table
    ]
    namespaces = ", ".join(
        ns.name + (" (forwarding)" if ns.forwarding else "") for ns in lab.namespaces
    )
    head = [f"Namespaces ({len(lab.namespaces)}): {namespaces or '-'}", ""]
    routes = [f"  {where(r.namespace)}: {r.text()}" for r in lab.routes]
    tail = ["", "Routes:", *routes] if routes else []
    shaped = [
        f"  {where(namespace)}:{dev}: {shaping.detail()}"
        for namespace, dev, shaping in shaped_devices(lab)
    ]
    tail += ["", "Egress shaping and impairments:", *shaped] if shaped else []
    tail += daemons_summary(lab)
    if lab.on is not None and lab.spans_hosts:
        head = _machine_head(lab) + head
        tail += _tunnel_table(lab)
    return head + lines + tail + pools_summary(lab)


def daemons_summary(lab: Lab) -> list[str]:
    """What runs in the namespaces: files as each namespace sees them, processes in the
    order they start (with what they wait for), and how many one-shot commands."""
    out: list[str] = []
    files: dict[str, list[str]] = {}
    for f in lab.files:
        files.setdefault(f.namespace, []).append(f"/etc/{f.path}")
    if files:
        out += ["", "Files (under /etc/netns/NS, seen in NS under /etc):"]
        out += [f"  {ns}: {', '.join(paths)}" for ns, paths in files.items()]
    if lab.processes:
        out += ["", "Processes, in start order:"]
        for p in lab.processes:
            after = f" (after {', '.join(p.after)})" if p.after else ""
            out.append(f"  {p.ref}{after}")
    if lab.execs:
        out += ["", "One-shot commands (exec):"]
        out += [f"  {e.namespace}: {len(e.commands)}" for e in lab.execs]
    return out


def pools_summary(lab: Lab) -> list[str]:
    """Which subnet each pool gave each segment: every address on these was assigned."""
    if not lab.assigned:
        return []
    pools = sorted({a.pool for a in lab.assigned}, key=lambda p: p.version)
    subnets: dict[str, list[str]] = {}
    for assigned in lab.assigned:
        subnets.setdefault(assigned.segment, []).append(str(assigned.subnet))
    width = max(len(segment) for segment in subnets)
    return [
        "",
        f"Assigned from the pools ({', '.join(map(str, pools))}), by segment:",
        *(f"  {segment:<{width}}  {' '.join(nets)}" for segment, nets in subnets.items()),
    ]


def tap_connects(owner: str | None, group: str | None, master: str | None) -> str:
    """How a TAP reads in the summary: "tap (owner alice, group kvm), port of br0"."""
    access = [f"owner {owner}"] if owner is not None else []
    access += [f"group {group}"] if group is not None else []
    text = "tap" + (f" ({', '.join(access)})" if access else " (root only)")
    return text + (f", port of {master}" if master is not None else "")


def shaped_devices(lab: Lab) -> list[tuple[str | None, str, Shaping]]:
    out = [(e.namespace, e.name, e.shaping) for v in lab.veths for e in (v.a, v.b)]
    out += [(t.namespace, t.name, t.shaping) for t in lab.taps]
    return [(n, d, s) for n, d, s in out if s is not None]


def _machine_head(lab: Lab) -> list[str]:
    machines = ", ".join(f"{m.name} ({m.address})" for m in lab.machines)
    return [
        f"Host {lab.on} of a lab across {len(lab.machines)} hosts: {machines}.",
        "Each host runs its own script; VXLAN tunnels join them (nsgen ansible writes all).",
        "",
    ]


def _tunnel_table(lab: Lab) -> list[str]:
    if not lab.vxlans:
        return ["", "Tunnels: none on this host."]
    table = [("VNI", "PORT", "DEVICE", "LOCAL", "REMOTE", "MTU", "CARRIES")]
    for x in lab.vxlans:
        remote = (
            f"{x.remote} ({x.remotes[0]})"
            if x.remote is not None
            else "flood " + ", ".join(f"{d} ({m})" for d, m in zip(x.flood, x.remotes, strict=True))
        )
        table.append((str(x.vni), str(x.port), x.ref, str(x.local), remote, str(x.mtu), x.carries))
    widths = [max(len(r[i]) for r in table) for i in range(6)]
    lines = [
        "  " + "".join(f"{c:<{w}}  " for c, w in zip(r, widths, strict=False)) + r[6] for r in table
    ]
    return ["", "Tunnels (VXLAN):", *lines]


def host_effects(lab: Lab) -> str:
    if lab.nat:
        nets = ", ".join(map(str, lab.nat))
        common = (
            f"NAT ([host] nat): traffic from {nets} that leaves the host by a device that is "
            f"not the lab's is masqueraded, by nftables table ip nsgen-{lab.name} (the lab's "
            "own; removed by down). Host IPv4 forwarding (net.ipv4.ip_forward) is turned on "
            "while a lab with NAT is up on this host, and put back as found when the last "
            "one goes (recorded in /run/nsgen/.host/forward). Nothing else beyond the "
            "namespaces, devices, addresses and routes below, and the state in "
            f"/run/nsgen/{lab.name}."
        )
    else:
        common = (
            "none beyond the namespaces, devices, addresses and routes below, and the state in "
            f"/run/nsgen/{lab.name}. No host sysctl and no firewall rule is changed: forwarding is "
            "set only inside namespaces."
        )
    size = lab.neighbour_table
    if size is not None:
        common = (
            "the namespaces, devices, addresses and routes below, the state in "
            f"/run/nsgen/{lab.name}, and ([host] neighbour_table) the host's neighbour tables: "
            "net.ipv4.neigh.default.gc_thresh1/2/3 and net.ipv6.neigh.default.gc_thresh1/2/3 "
            f"are raised to at least {size // 8}/{size // 2}/{size} (never lowered), the values "
            "found are kept in /run/nsgen/.host/neigh and put back when the last lab that "
            "raised them goes. No other host sysctl and no firewall rule is changed: "
            "forwarding is set only inside namespaces."
        )
    if lab.files or lab.processes:
        common += (
            " Besides: the files listed below, under /etc/netns (which ip netns exec shows "
            "under /etc in their namespace), and the processes listed below, running in the "
            "lab's namespaces; both go with the lab."
        )
    if any(b.namespace is None for b in lab.bridges):
        return (
            f"{common} Traffic across a bridge in the host namespace passes the host's "
            "firewall when bridge netfilter is on (br_netfilter; Docker hosts also set the "
            "FORWARD policy to DROP); verify then names the rule that lets it through."
        )
    return common


# The wheel carries templates/ inside the package (pyproject's force-include); a source
# checkout, editable installs included, has it beside the package. A plain path avoids
# importlib.resources' start-up cost.
_PACKAGED = Path(__file__).with_name("templates")
TEMPLATES = _PACKAGED if _PACKAGED.is_dir() else Path(__file__).parent.parent / "templates"


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def _heredoc(command: str, text: str) -> list[str]:
    """`text` as a here-document of `command`, under a delimiter that none of its lines is;
    text without a final newline goes through nsgen_chomp, which takes the heredoc's off."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    else:
        command = "nsgen_chomp"
    end = "NSGEN_EOF"
    while end in lines:
        end += "_"
    return [f"{command} <<'{end}'", *lines, end]


def daemon_tables(plan: Plan) -> dict[str, list[str]]:
    """The tables the daemon modules read, and every text they need (file contents,
    commands) as one case of lab_text, each under its key."""
    texts: list[tuple[str, str]] = []
    files = []
    for index, op in enumerate(plan.of(WriteFile), 1):
        f = op.file
        files.append(f"{f.namespace} {f.path} {f.mode:o} {f.digest} file:{index}")
        texts.append((f"file:{index}", f.content))
    processes = []
    for start in plan.of(StartProcess):
        p = start.process
        after = ",".join(p.after) or "-"
        processes.append(f"{p.namespace} {p.name} {p.timeout} {start.digest} {after}")
        texts.append((f"command:{p.ref}", p.command))
        if p.ready is not None:
            texts.append((f"ready:{p.ref}", p.ready))
    execs = []
    for run in plan.of(RunExec):
        e = run.exec
        execs.append(f"{e.namespace} {run.digest} {len(e.commands)}")
        texts += [(f"exec:{e.namespace}:{i}", c) for i, c in enumerate(e.commands, 1)]
    cases = []
    for key, text in texts:
        head, *body = _heredoc("cat", text)
        cases += [f"\t{key}) {head}", *body, "\t\t;;"]
    return {"files": files, "processes": processes, "execs": execs, "texts": cases}


def render(plan: Plan, prefix: str = "") -> str:
    lab = plan.lab
    host_l3 = (
        any(b.namespace is None and b.addresses for b in lab.bridges)
        or any(e.namespace is None and e.addresses for v in lab.veths for e in (v.a, v.b))
        or any(r.namespace is None for r in lab.routes)
        or any(t.namespace is None and t.addresses for t in lab.taps)
    )
    need = plan.neighbour_entries()
    assembled = runtime.assemble(plan)
    template = _environment().get_template("script.sh.j2")
    return template.render(
        lab=lab.name,
        mark=lab.mark,
        version=__version__,
        source=printable(lab.source_name),  # a file name: in comments, on one line
        source_quoted=printable(lab.source_name).replace("'", "'\\''"),
        route_proto=ROUTE_PROTO,
        sha256=lab.source_sha256,
        prefix_option=(f" --prefix {prefix}" if prefix else "")
        + (f" --host {lab.on}" if lab.on is not None and lab.spans_hosts else ""),
        host_effects=_wrap(host_effects(lab)),
        summary=summary(lab),
        namespaces=" ".join(plan.namespaces_in_order()),
        host_l3=1 if host_l3 else 0,
        ns_reads=1 if needs_namespace_reads(plan) else 0,
        sysctls=1 if plan.of(SetSysctl) else 0,
        neigh_table=plan.neighbour_table() or 0,
        neigh4=need[4],
        neigh6=need[6],
        tc_namespaces=" ".join(_where_ops(plan, SetQdisc)),
        tap_namespaces=" ".join(_where_ops(plan, AddTap)),
        rows=plan_rows(plan),
        checks=check_rows(plan),
        check_commands=check_commands(plan),
        hosts=hosts_lines(plan),
        nat=nat_rules(lab),
        modules=assembled.modules,
        runtime=assembled.text,
        daemons=daemon_tables(plan) if runtime.runs_daemons(plan) else None,
    )


def _where_ops(plan: Plan, kind: type[SetQdisc] | type[AddTap]) -> list[str]:
    """The namespaces ("-": the host) holding operations of one kind, in plan order."""
    places = [_dash(op.namespace) for op in plan.of(kind)]
    return list(dict.fromkeys(places))


def needs_namespace_reads(plan: Plan) -> bool:
    """Whether any device the lab creates has no end in the host, where one read sees all, or
    the lab routes inside a namespace: up reads those routes, to leave someone else's alone."""
    return bool(
        plan.of(AddMacvlan)
        or any(op.route.namespace is not None for op in plan.of(AddRoute))
        or any(op.namespace is not None for op in plan.of(AddTap))
        or any(op.namespace is not None for op in plan.of(AddBridge))
        or any(None not in (op.a.namespace, op.b.namespace) for op in plan.of(AddVeth))
        or any(op.vxlan.namespace is not None for op in plan.of(AddVxlan))
    )


def _wrap(text: str, width: int = 80) -> str:
    return "\n#   ".join(textwrap.wrap(text, width))
