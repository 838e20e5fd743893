"""The shapes `nsgen new` writes, on their own so the CLI can list them without loading
the scaffold generator on every start-up."""

from enum import StrEnum


class Template(StrEnum):
    PAIR = "pair"
    STAR = "star"
    LINE = "line"
    RING = "ring"
    TREE = "tree"
