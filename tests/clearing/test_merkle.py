"""The Python Merkle tree: the same root and proofs as Clearing.sol (checked on-chain in the other tests)."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from v2vchain.errors import InvalidInput
from v2vchain.protocol.merkle import MerkleTree, hash_pair, merkle_root, tagged_leaf, verify


def _leaves(n: int) -> list[bytes]:
    return [keccak(i.to_bytes(32, "big")) for i in range(n)]


def test_a_single_leaf_is_its_own_root() -> None:
    (leaf,) = _leaves(1)
    assert merkle_root([leaf]) == leaf
    assert MerkleTree([leaf]).proof(0) == []


def test_pairs_hash_sorted_so_their_order_does_not_matter() -> None:
    a, b = _leaves(2)
    assert hash_pair(a, b) == hash_pair(b, a) == merkle_root([a, b])


@pytest.mark.parametrize("n", [2, 3, 5, 7, 8, 13])
def test_every_leaf_proves_against_the_root_for_odd_and_even_counts(n: int) -> None:
    tree = MerkleTree(_leaves(n))
    assert all(verify(tree.proof(i), tree.root, leaf) for i, leaf in enumerate(_leaves(n)))


def test_an_odd_last_node_moves_up_unchanged() -> None:
    a, b, c = _leaves(3)
    assert merkle_root([a, b, c]) == hash_pair(hash_pair(a, b), c)


def test_a_proof_does_not_verify_another_leaf() -> None:
    tree = MerkleTree(_leaves(4))
    assert not verify(tree.proof(0), tree.root, _leaves(4)[1])


def test_an_inner_node_is_not_accepted_as_a_leaf() -> None:
    """Second preimage: the node over leaves 0 and 1, offered as a leaf with the rest of the proof, verifies as
    a plain hash chain, which is why leaves are double-hashed from a tagged, longer-than-64-byte preimage."""
    leaves = _leaves(4)
    tree = MerkleTree(leaves)
    inner = hash_pair(leaves[0], leaves[1])
    assert verify(tree.proof(0)[1:], tree.root, inner)  # the raw tree alone cannot tell
    forged = tagged_leaf(["bytes32", "bytes32"], [leaves[0], leaves[1]])
    assert forged != inner  # a leaf is keccak(keccak(encoding)), never keccak(left || right)


def test_an_empty_tree_is_refused() -> None:
    with pytest.raises(InvalidInput):
        MerkleTree([])


def test_a_proof_index_outside_the_tree_is_refused() -> None:
    with pytest.raises(InvalidInput):
        MerkleTree(_leaves(3)).proof(3)
