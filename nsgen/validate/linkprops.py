"""Pass: each interface's link properties, its TAP keys and its egress shaping.

Values become the kernel's units here (bits per second, bytes, microseconds), so that the
script can compare what `tc -j` reports with plain numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from nsgen.lab import Shaping
from nsgen.model import InterfaceSpec
from nsgen.validate.context import Context

Error = Callable[[str, str], None]

RATE_UNITS = {"bit": 1, "kbit": 10**3, "mbit": 10**6, "gbit": 10**9}
SIZE_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2}
TIME_UNITS = {"us": 1, "ms": 1000, "s": 1_000_000}
# What the smallest unit counts, for "not a whole number of ...".
SMALLEST = {"bit": "bits", "b": "bytes", "us": "microseconds"}
RATE_MIN, RATE_MAX = 10**3, 100 * 10**9  # 1kbit .. 100gbit
TIME_MAX = 60_000_000  # 60 s: far beyond any WAN a lab emulates
LATENCY_DEFAULT = 50_000  # 50 ms of queue: TCP keeps the link full without bufferbloat
BURST_TIME = 10_000  # the default bucket holds 10 ms of traffic at the rate ...
BURST_FRAMES = 2  # ... and at least two full-size frames
ETHERNET_HEADER = 14
DEFAULT_MTU = 1500

_NUMBER = r"([0-9]+(?:\.[0-9]+)?)"
# Users (and tc's own output) write "10Mbit": the unit is read case-insensitively.
RATE_RE = re.compile(_NUMBER + r"([a-z]+)\Z", re.I)
SIZE_RE = RATE_RE
TIME_RE = RATE_RE
PERCENT_RE = re.compile(_NUMBER + r"%\Z")
# What useradd accepts, and what ip tuntap looks up with getpwnam/getgrnam.
ACCOUNT_RE = re.compile(r"[a-z_][a-z0-9_.-]*\$?\Z")
ACCOUNT_MAX = 32
ID_MAX = 2**32 - 2  # (uid_t)-1 means "unset" to the kernel

TAP_ONLY = ("owner", "group")


def link_properties(ctx: Context) -> None:
    for iface in ctx.ifaces.values():
        iface.owner, iface.group = tap_keys(iface.path, iface.spec, ctx.error)
        iface.shaping = shaping(iface.path, iface.spec, iface.spec.mtu, ctx.error)


def _amount(
    path: str, text: str, units: dict[str, int], what: str, example: str, error: Error
) -> int | None:
    """A number with a unit, in the smallest unit; None (after an error) when unusable."""
    match = RATE_RE.match(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in units:
        hint = ""
        if unit.endswith("bps") and units is RATE_UNITS:
            hint = " (tc reads 'bps' as bytes per second; write bits: 'mbit')"
        error(
            path,
            f"'{text}' is not {what}: write a number and one of {', '.join(units)}, "
            f"e.g. '{example}'{hint}",
        )
        return None
    try:
        value = Decimal(match.group(1)) * units[unit]
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        return None
    if value != value.to_integral_value():
        error(path, f"'{text}' is not a whole number of {SMALLEST[next(iter(units))]}")
        return None
    return int(value)


def parse_rate(path: str, text: str, error: Error) -> int | None:
    bits = _amount(path, text, RATE_UNITS, "a rate", "10mbit", error)
    if bits is not None and not RATE_MIN <= bits <= RATE_MAX:
        error(path, f"'{text}' is outside 1kbit to 100gbit")
        return None
    return bits


def parse_time(path: str, text: str, error: Error, *, zero: bool = False) -> int | None:
    micros = _amount(path, text, TIME_UNITS, "a time", "20ms", error)
    if micros is None:
        return None
    if micros == 0 and not zero:
        error(path, f"'{text}' is zero; remove the key instead")
        return None
    if micros > TIME_MAX:
        error(path, f"'{text}' is more than 60s")
        return None
    return micros


def parse_percent(path: str, text: str, error: Error) -> str | None:
    match = PERCENT_RE.match(text)
    if match is None:
        error(path, f"'{text}' is not a percentage like '1%' or '0.5%'")
        return None
    value = Decimal(match.group(1))
    if value > 100:
        error(path, f"'{text}' is more than 100%")
        return None
    return match.group(1)


def parse_size(path: str, text: str, error: Error) -> int | None:
    return _amount(path, text, SIZE_UNITS, "a size", "32kb", error)


PARSERS: dict[str, Callable[[str, str, Error], int | str | None]] = {
    "rate": parse_rate,
    "burst": parse_size,
    "latency": parse_time,
    "delay": parse_time,
    "jitter": parse_time,
    "loss": parse_percent,
}


def shaping(path: str, spec: InterfaceSpec, mtu: int | None, error: Error) -> Shaping | None:
    """The interface's egress shaping, or None when it declares none (or any bad value)."""
    written = [(k, getattr(spec, k)) for k in PARSERS if getattr(spec, k) is not None]
    if not written:
        return None
    for key, needs in (("burst", "rate"), ("latency", "rate"), ("jitter", "delay")):
        if getattr(spec, key) is not None and getattr(spec, needs) is None:
            error(f"{path}.{key}", f"{key} goes with {needs}; set {needs} too")
    values = {key: PARSERS[key](f"{path}.{key}", text, error) for key, text in written}
    frame = (mtu or DEFAULT_MTU) + ETHERNET_HEADER
    burst, delay, jitter = values.get("burst"), values.get("delay"), values.get("jitter")
    if isinstance(burst, int) and burst < frame:
        error(
            f"{path}.burst",
            f"'{spec.burst}' is smaller than one full frame ({frame} bytes: MTU "
            f"{mtu or DEFAULT_MTU} + {ETHERNET_HEADER}); tbf would drop every full-size packet",
        )
        return None
    if isinstance(jitter, int) and isinstance(delay, int) and jitter > delay:
        error(
            f"{path}.jitter",
            f"'{spec.jitter}' is more than the delay '{spec.delay}'; netem would clip the "
            "delay at zero and reorder packets",
        )
        return None
    if None in values.values() or not {"rate", "delay", "loss"} & values.keys():
        return None
    rate = values.get("rate")
    latency = values.get("latency")
    if isinstance(rate, int):
        burst = burst or max(rate * BURST_TIME // 8_000_000, BURST_FRAMES * frame)
        latency = latency or LATENCY_DEFAULT
    loss = values.get("loss")
    return Shaping(
        rate if isinstance(rate, int) else None,
        burst if isinstance(burst, int) else None,
        latency if isinstance(latency, int) else None,
        delay if isinstance(delay, int) else None,
        jitter if isinstance(jitter, int) else None,
        loss if isinstance(loss, str) else None,
        tuple((key, text.lower()) for key, text in written),
    )


def tap_keys(path: str, spec: InterfaceSpec, error: Error) -> tuple[str | None, str | None]:
    """A TAP's owner and group as the script writes them (None: root only), after checking
    that only a TAP sets them and that no veth-only key is set on a TAP."""
    if spec.kind != "tap":
        for key in TAP_ONLY:
            if getattr(spec, key) is not None:
                error(f"{path}.{key}", f'{key} is for TAP devices; set kind = "tap"')
        return None, None
    for key in ("peer", "outer"):
        if getattr(spec, key) is not None:
            error(
                f"{path}.{key}",
                f"a TAP has no other end: {key} is for veth interfaces (use bridge to make "
                "the TAP a port of a bridge)",
            )
    return (
        _account(f"{path}.owner", spec.owner, "user", error),
        _account(f"{path}.group", spec.group, "group", error),
    )


def _account(path: str, value: str | int | None, what: str, error: Error) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) or value.isdigit():
        number = int(value)
        if not 0 <= number <= ID_MAX:
            error(path, f"{value} is not a {what} id (0 to {ID_MAX})")
            return None
        return str(number)
    if not ACCOUNT_RE.match(value) or len(value) > ACCOUNT_MAX:
        error(
            path,
            f"'{value}' is not a {what} name: at most {ACCOUNT_MAX} of [a-z0-9_.-], starting "
            "with a letter or '_' (or give the number)",
        )
        return None
    return value
