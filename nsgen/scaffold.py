"""Scaffolds: `nsgen new TEMPLATE` writes a topology file for one of the usual shapes.

The shapes follow mininet's built-in topologies. Routed shapes (line, ring, tree) join
namespaces with point-to-point veth pairs, one small subnet each, carved in order from
`--subnet`; every router gets routes for what lies beyond each neighbour, summarised into as
few prefixes as the address plan allows, so a lab of N routers has O(N log N) routes, not
O(N^2). The output is an ordinary topology file (the same options give the same bytes),
read back like a hand-written one: it is not validated here, and the tests run every
template through the validator and onto the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import ip_interface, ip_network, summarize_address_range

from nsgen.errors import UsageError
from nsgen.lab import IPAddress, IPInterface, IPNetwork, read_network
from nsgen.shapes import Template

# A Linux bridge takes at most 1024 ports; past a thousand namespaces `up` is a benchmark.
MAX_NAMESPACES = 1000
DEFAULT_SUBNETS = ("10.0.0.0/24", "10.0.0.0/16")  # the first one that is big enough
DEFAULT_HOSTS = {Template.STAR: 4, Template.LINE: 3, Template.RING: 4}
MIN_HOSTS = {Template.STAR: 2, Template.LINE: 2, Template.RING: 3}
DEFAULT_DEPTH, DEFAULT_FANOUT = 2, 2

DESCRIPTIONS = {
    Template.PAIR: ["Two namespaces joined by one veth pair."],
    Template.STAR: [
        "Hosts on one bridge, like mininet's single-switch topology. The bridge lives in",
        "its own namespace, sw, so the lab adds nothing to the host.",
    ],
    Template.LINE: [
        "A chain of routers r1, r2, ..., with host hI on router rI: mininet's linear",
        "topology, routed.",
    ],
    Template.RING: [
        "Routers r1, r2, ... in a ring, with host hI on router rI. Traffic goes the shorter",
        "way round; at equal distance both directions of a pair take the same path.",
    ],
    Template.TREE: [
        "A tree of routers, --depth levels deep, each with --fanout children; the hosts are",
        "the leaves: mininet's tree topology, routed.",
    ],
}
ROUTED_NOTE = [
    "Every link is a veth pair with a subnet of its own. Each router routes what lies",
    "beyond a neighbour through that neighbour, in as few prefixes as the address plan",
    "allows; each host sends everything to its router. The checks at the end prove that",
    "h1 reaches every other host.",
]


@dataclass(frozen=True)
class Options:
    hosts: int | None = None
    depth: int | None = None
    fanout: int | None = None
    subnet: str | None = None


def scaffold(template: Template, options: Options) -> str:
    """The topology file for `template`, or UsageError naming the one bad option."""
    shape = _resolve(template, options)
    if template is Template.PAIR:
        lab = _pair(_subnet(options.subnet, 2, shape))
    elif template is Template.STAR:
        lab = _star(_subnet(options.subnet, shape.hosts, shape), shape.hosts)
    elif template is Template.RING:
        lab = _ring(_pool(options.subnet, 2 * shape.hosts, shape), shape.hosts)
    else:
        root, children = (
            _line_shape(shape.hosts)
            if template is Template.LINE
            else _tree_shape(shape.depth, shape.fanout)
        )
        lab = _routed_tree(_pool(options.subnet, len(children) - 1, shape), root, children)
    return _write(shape, lab)


# ---- options -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    """The options with their defaults applied; printed, the command line that makes it."""

    template: Template
    hosts: int = 0
    depth: int = 0
    fanout: int = 0

    def __str__(self) -> str:
        if self.template is Template.TREE:
            return f"tree --depth {self.depth} --fanout {self.fanout}"
        return f"{self.template} --hosts {self.hosts}" if self.hosts else str(self.template)


def _resolve(template: Template, options: Options) -> _Shape:
    if template is not Template.TREE and (options.depth, options.fanout) != (None, None):
        raise UsageError("--depth and --fanout go with the tree template only")
    if template in (Template.PAIR, Template.TREE) and options.hosts is not None:
        raise UsageError(f"{template} takes no --hosts")
    if template is Template.PAIR:
        return _Shape(template)
    if template is Template.TREE:
        depth = DEFAULT_DEPTH if options.depth is None else options.depth
        fanout = DEFAULT_FANOUT if options.fanout is None else options.fanout
        if depth < 1 or fanout < 1:
            raise UsageError("tree --depth and --fanout must be at least 1")
        count = _tree_size(depth, fanout)
        if count > MAX_NAMESPACES:
            raise UsageError(
                f"tree --depth {depth} --fanout {fanout} makes {count} namespaces; "
                f"the limit is {MAX_NAMESPACES}"
            )
        return _Shape(template, depth=depth, fanout=fanout)
    hosts = DEFAULT_HOSTS[template] if options.hosts is None else options.hosts
    # Line and ring give every host a router: two namespaces per host.
    most = MAX_NAMESPACES if template is Template.STAR else MAX_NAMESPACES // 2
    if not MIN_HOSTS[template] <= hosts <= most:
        raise UsageError(f"{template} --hosts must be {MIN_HOSTS[template]} to {most}, not {hosts}")
    return _Shape(template, hosts=hosts)


def _tree_size(depth: int, fanout: int) -> int:
    """Namespaces of a tree: routers on `depth` levels plus the hosts below the last one."""
    total, level = 0, 1
    for _ in range(depth + 1):
        total += level
        level *= fanout
        if total > MAX_NAMESPACES:
            break  # the caller only needs to know it is too many; fanout**depth can be huge
    return total


def _parse_subnet(text: str) -> IPNetwork:
    network, meant = read_network(text)
    if network is not None:
        return network
    if meant is None:
        raise UsageError(f"--subnet '{text}' is not a network such as 10.0.0.0/24")
    raise UsageError(f"--subnet {text} has host bits set; did you mean {meant}?")


def _subnet(text: str | None, hosts: int, shape: _Shape) -> IPNetwork:
    """One LAN for `hosts` addresses (its network and last address stay unused)."""
    for candidate in [text] if text is not None else DEFAULT_SUBNETS:
        subnet = _parse_subnet(candidate)
        if hosts <= subnet.num_addresses - 2:
            return subnet
    room = max(subnet.num_addresses - 2, 0)
    raise UsageError(f"--subnet {subnet} has room for {room} hosts; {shape} needs {hosts}")


def _pool(text: str | None, links: int, shape: _Shape) -> IPNetwork:
    """A range to carve `links` point-to-point subnets of four addresses from."""
    for candidate in [text] if text is not None else DEFAULT_SUBNETS:
        pool = _parse_subnet(candidate)
        if links * LINK_SIZE <= pool.num_addresses:
            return pool
    raise UsageError(
        f"--subnet {pool} has room for {pool.num_addresses // LINK_SIZE} links of "
        f"{LINK_SIZE} addresses; {shape} needs {links}"
    )


# ---- the lab as nodes and links ----------------------------------------------------------

LINK_SIZE = 4  # a /30 (IPv4) or /126 (IPv6): the two ends and room to spare


@dataclass
class _Iface:
    name: str
    address: IPInterface
    peer: str | None = None  # "NAMESPACE:INTERFACE"
    bridge: str | None = None


@dataclass
class _Node:
    name: str
    router: bool = False
    routes: list[tuple[str, IPAddress]] = field(default_factory=list)
    interfaces: list[_Iface] = field(default_factory=list)

    def new_interface(self, address: IPInterface, **link: str) -> _Iface:
        iface = _Iface(f"eth{len(self.interfaces)}", address, **link)
        self.interfaces.append(iface)
        return iface


@dataclass
class _Lab:
    network: IPNetwork  # the --subnet used
    nodes: list[_Node]
    bridge: str | None = None  # in the namespace "sw"
    checks: list[tuple[str, str]] = field(default_factory=list)


class _Links:
    """Point-to-point links, each a veth pair with the next subnet of the pool."""

    def __init__(self, pool: IPNetwork) -> None:
        self.pool = pool
        self.count = 0

    def add(self, a: _Node, b: _Node) -> tuple[IPAddress, IPAddress]:
        """Join a and b; a takes the subnet's first address, b the second."""
        first = self.pool.network_address + LINK_SIZE * self.count
        subnet = ip_network(f"{first}/{self.pool.max_prefixlen - 2}")
        self.count += 1
        return _join(a, b, _host_address(subnet, 1), _host_address(subnet, 2))

    def span(self, first: int, last: int) -> list[str]:
        """The fewest prefixes covering links first..last (none when first > last)."""
        if first > last:
            return []
        start = self.pool.network_address + LINK_SIZE * first
        end = self.pool.network_address + LINK_SIZE * (last + 1) - 1
        return [str(n) for n in summarize_address_range(start, end)]


def _pair(subnet: IPNetwork) -> _Lab:
    h1, h2 = _Node("h1"), _Node("h2")
    _join(h1, h2, _host_address(subnet, 1), _host_address(subnet, 2))
    return _Lab(subnet, [h1, h2])


def _star(subnet: IPNetwork, hosts: int) -> _Lab:
    nodes = [_Node(f"h{index}") for index in range(1, hosts + 1)]
    for index, node in enumerate(nodes, 1):
        node.new_interface(_host_address(subnet, index), bridge="br0")
    return _Lab(subnet, nodes, bridge="br0")


def _join(a: _Node, b: _Node, at_a: IPInterface, at_b: IPInterface) -> tuple[IPAddress, IPAddress]:
    """A veth pair between a and b, each end naming the other as its peer."""
    end_a, end_b = a.new_interface(at_a), b.new_interface(at_b)
    end_a.peer, end_b.peer = f"{b.name}:{end_b.name}", f"{a.name}:{end_a.name}"
    return at_a.ip, at_b.ip


def _host_address(subnet: IPNetwork, index: int) -> IPInterface:
    return ip_interface(f"{subnet.network_address + index}/{subnet.prefixlen}")


def _line_shape(hosts: int) -> tuple[str, dict[str, list[str]]]:
    """Router rI has host hI and, but for the last, the next router as children."""
    children: dict[str, list[str]] = {}
    for index in range(1, hosts + 1):
        children[f"r{index}"] = [f"h{index}"] + ([f"r{index + 1}"] if index < hosts else [])
        children[f"h{index}"] = []
    return "r1", children


def _tree_shape(depth: int, fanout: int) -> tuple[str, dict[str, list[str]]]:
    """Routers on `depth` levels, hosts below; both numbered in depth-first order, as
    mininet numbers its switches and hosts. Iterative: a deep, thin tree is a long line."""
    children: dict[str, list[str]] = {}
    routers = hosts = 0
    pending: list[tuple[str | None, int]] = [(None, 1)]  # (parent, level) still to visit
    while pending:
        parent, level = pending.pop()
        if level <= depth:
            routers += 1
            name = f"r{routers}"
            pending += [(name, level + 1)] * fanout
        else:
            hosts += 1
            name = f"h{hosts}"
        children[name] = []
        if parent is not None:
            children[parent].append(name)
    return "r1", children


def _routed_tree(pool: IPNetwork, root: str, children: dict[str, list[str]]) -> _Lab:
    """Links allocated in depth-first order, so that every subtree's links are one run of
    subnets: a router reaches what lies below a child through that run's prefixes, and the
    rest of the lab through its parent."""
    order: list[str] = []
    stack = [root]
    while stack:
        name = stack.pop()
        order.append(name)
        stack += reversed(children[name])
    position = {name: index for index, name in enumerate(order)}
    size: dict[str, int] = {}
    for name in reversed(order):
        size[name] = 1 + sum(size[child] for child in children[name])
    parent = {child: name for name in order for child in children[name]}

    nodes = {name: _Node(name, router=bool(children[name])) for name in order}
    links = _Links(pool)
    # The link to each node's parent is link position-1: (parent's address, node's address).
    uplink = {name: links.add(nodes[parent[name]], nodes[name]) for name in order[1:]}
    for name in order:
        node = nodes[name]
        if not node.router:
            node.routes.append(("default", uplink[name][0]))
            continue
        for child in children[name]:
            below = links.span(position[child], position[child] + size[child] - 2)
            node.routes += [(prefix, uplink[child][1]) for prefix in below]
        if name in parent:
            # The rest goes up. More specific routes win, so the whole range is enough, and
            # an address nobody has climbs to the root, which has no route for it: no loop.
            node.routes.append((str(pool), uplink[name][0]))
    hosts = [name for name in order if not children[name]]
    return _Lab(pool, list(nodes.values()), checks=[(hosts[0], h) for h in hosts[1:]])


def _ring(pool: IPNetwork, count: int) -> _Lab:
    """Router I owns two links, to its host and to router I+1: block I of the pool. It
    routes the next blocks clockwise and the rest counter-clockwise."""
    routers = [_Node(f"r{index}", router=True) for index in range(1, count + 1)]
    hosts = [_Node(f"h{index}") for index in range(1, count + 1)]
    links = _Links(pool)
    clockwise: list[IPAddress] = [pool.network_address] * count  # next hop of each router
    counter: list[IPAddress] = [pool.network_address] * count
    for index in range(count):
        mine, _ = links.add(routers[index], hosts[index])
        hosts[index].routes.append(("default", mine))
        following = (index + 1) % count
        this_end, next_end = links.add(routers[index], routers[following])
        clockwise[index], counter[following] = next_end, this_end
    for index, router in enumerate(routers):
        # Half the ring each way; at exactly half, the lower-numbered router of the pair
        # goes clockwise and the other one counter-clockwise: one path both ways.
        ahead = (count - 1) // 2 + (1 if count % 2 == 0 and index < count // 2 else 0)
        for prefix in _blocks(links, count, index + 1, ahead):
            router.routes.append((prefix, clockwise[index]))
        for prefix in _blocks(links, count, index + 1 + ahead, count - 1 - ahead):
            router.routes.append((prefix, counter[index]))
    nodes = [node for pair in zip(routers, hosts, strict=True) for node in pair]
    return _Lab(pool, nodes, checks=[("h1", host.name) for host in hosts[1:]])


def _blocks(links: _Links, count: int, first: int, length: int) -> list[str]:
    """The prefixes of `length` blocks of two links from block `first`, around the ring."""
    start, end = first % count, first % count + length
    if end <= count:
        return links.span(2 * start, 2 * end - 1)
    return links.span(2 * start, 2 * count - 1) + links.span(0, 2 * (end - count) - 1)


# ---- the file ----------------------------------------------------------------------------


def _write(shape: _Shape, lab: _Lab) -> str:
    template = shape.template
    lines = [f"# nsgen new {shape} --subnet {lab.network}"]
    lines += [f"# {line}" for line in DESCRIPTIONS[template]]
    if template in (Template.LINE, Template.RING, Template.TREE):
        lines += [f"# {line}" for line in ROUTED_NOTE]
    lines += [
        "# An ordinary topology file: edit it, then",
        "#   nsgen render FILE > SCRIPT && sudo sh SCRIPT up && sudo sh SCRIPT verify",
        "",
        f'name = "{template}"',
        "",
    ]
    if lab.bridge is not None:
        lines += ["[namespaces.sw]", "", f"[bridges.{lab.bridge}]", 'namespace = "sw"', ""]
    for node in lab.nodes:
        settings = ["forwarding = true"] if node.router else []
        if len(node.routes) == 1:
            settings.append(f"routes = [{_route(*node.routes[0])}]")
        elif node.routes:
            settings += ["routes = [", *(f"  {_route(*r)}," for r in node.routes), "]"]
        if settings:
            lines += [f"[namespaces.{node.name}]", *settings, ""]
        for iface in node.interfaces:
            lines.append(f"[namespaces.{node.name}.interfaces.{iface.name}]")
            if iface.peer is not None:
                lines.append(f'peer = "{iface.peer}"')
            if iface.bridge is not None:
                lines.append(f'bridge = "{iface.bridge}"')
            lines += [f'address = "{iface.address}"', ""]
    for source, target in lab.checks:
        lines += [
            "[[checks]]",
            f'from = "{source}"',
            f'to = "{target}"',
            'expect = "reachable"',
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _route(to: str, via: IPAddress) -> str:
    return f'{{ to = "{to}", via = "{via}" }}'
