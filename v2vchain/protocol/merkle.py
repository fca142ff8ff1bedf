"""Merkle trees exactly as contracts/Clearing.sol builds and checks them.

Leaves are domain-tagged and double-hashed, keccak(keccak(abi.encode(tag, ...))), so no leaf preimage is 64 bytes
like an inner node's (no second preimage). Inner nodes hash their two children sorted, so a proof is just the
siblings, bottom up; each leaf names its own index, which pins its position. A level with an odd count moves its
last node up unchanged (that level adds nothing to its proof).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak

from v2vchain.errors import InvalidInput


def tagged_leaf(types: Sequence[str], values: Sequence[Any]) -> bytes:
    """keccak(keccak(abi.encode(values))): the leaf of Clearing._orderLeaf / _tradeLeaf given the same fields."""
    return keccak(keccak(abi_encode(list(types), list(values))))


def hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a <= b else keccak(b + a)


class MerkleTree:
    """All levels kept, so each proof is a walk up them."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        if not leaves:
            raise InvalidInput("a Merkle tree needs at least one leaf")
        if any(not isinstance(leaf, bytes) or len(leaf) != 32 for leaf in leaves):
            raise InvalidInput("every leaf must be 32 bytes")
        self.levels: list[list[bytes]] = [list(leaves)]
        while len(self.levels[-1]) > 1:
            nodes = self.levels[-1]
            up = [hash_pair(nodes[i], nodes[i + 1]) for i in range(0, len(nodes) - 1, 2)]
            if len(nodes) % 2:
                up.append(nodes[-1])
            self.levels.append(up)

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    def __len__(self) -> int:
        return len(self.levels[0])

    def proof(self, index: int) -> list[bytes]:
        if not isinstance(index, int) or not 0 <= index < len(self):
            raise InvalidInput(f"leaf index {index!r} is outside 0..{len(self) - 1}")
        siblings: list[bytes] = []
        for nodes in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(nodes):
                siblings.append(nodes[sibling])
            index //= 2
        return siblings


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    return MerkleTree(leaves).root


def verify(proof: Sequence[bytes], root: bytes, leaf: bytes) -> bool:
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node == root
