"""The topology format as typed, strict pydantic models: the public interface of nsgen.

These models check only the shape of the file (keys and types). Everything that needs the
whole lab at once (names, references, addresses, routes) is checked in nsgen.validate,
so that all errors are collected in one pass and reported with their key paths.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Addresses = Annotated[
    list[str],
    # The input type is what the JSON Schema shows editors: a string or an array of strings.
    BeforeValidator(_one_or_many, json_schema_input_type=str | list[str]),
    Field(
        description='One IPv4/IPv6 address with prefix length ("10.0.0.11/24"), or a list.',
    ),
]


class Strict(BaseModel):
    # strict: "1500" is not an MTU and 1 is not `true`; forbid: a misspelt key is an error.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class RouteSpec(Strict):
    """A static route inside a namespace (or the host)."""

    to: str = Field(description='Destination network ("10.2.0.0/24", "fd00:2::/64") or "default".')
    via: str = Field(
        description="Gateway address; must lie inside a subnet of an interface of the same "
        "namespace.",
    )


class InterfaceSpec(Strict):
    """A veth end. Set `bridge` or `peer`, or be the target of another interface's `peer`."""

    bridge: str | None = Field(
        default=None, description="Bridge whose port the other end of this veth becomes."
    )
    peer: str | None = Field(
        default=None,
        description='The other end of this veth pair, as "NAMESPACE:INTERFACE" or "host:NAME".',
    )
    outer: str | None = Field(
        default=None,
        description="Name of the bridge-side end (only with `bridge`); default: derived, "
        "deterministic, at most 15 characters.",
    )
    address: Addresses = Field(default_factory=list)
    mtu: int | None = Field(default=None, description="MTU, 68 to 65535 (1280+ with IPv6).")
    mac: str | None = Field(
        default=None, description='Unicast MAC address, e.g. "02:00:00:00:00:11".'
    )


class NamespaceSpec(Strict):
    """A network namespace: one host or router of the lab."""

    forwarding: bool = Field(
        default=False, description="Turn IPv4 and IPv6 forwarding on inside it (a router)."
    )
    routes: list[RouteSpec] = Field(default_factory=list, description="Static routes.")
    interfaces: dict[str, InterfaceSpec] = Field(
        default_factory=dict, description="Its veth ends, by device name."
    )


class HostSpec(Strict):
    """The host (root) namespace: interfaces the lab adds there, and routes towards the lab."""

    interfaces: dict[str, InterfaceSpec] = Field(
        default_factory=dict,
        description='Veth ends in the host namespace; others refer to them as "host:NAME".',
    )
    routes: list[RouteSpec] = Field(
        default_factory=list,
        description="Host routes towards the lab (never a default route); removed by down.",
    )


class BridgeSpec(Strict):
    """A Linux bridge."""

    namespace: str | None = Field(
        default=None, description="Namespace that holds it; default: the host namespace."
    )
    address: Addresses = Field(default_factory=list)
    mtu: int | None = Field(default=None, description="MTU of the bridge device.")


class TopologySpec(Strict):
    """An nsgen lab."""

    name: str | None = Field(
        default=None,
        description="Lab name, used in the script header and ownership marks; default: the "
        "file's stem.",
    )
    bridges: dict[str, BridgeSpec] = Field(default_factory=dict, description="Bridges by name.")
    namespaces: dict[str, NamespaceSpec] = Field(
        default_factory=dict, description="Namespaces by name."
    )
    host: HostSpec = Field(
        default_factory=HostSpec,
        description="The host (root) namespace: veth ends and routes the lab adds there.",
    )
