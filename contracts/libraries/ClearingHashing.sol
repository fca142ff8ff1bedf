// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IClearing} from "../interfaces/IClearing.sol";

/// @notice How the Clearing hashes orders and trades (v2vchain/contracts/clearing.py and v2vchain/merkle.py mirror it).
/// Leaves are domain-tagged and double-hashed, keccak(keccak(abi.encode(TRADE_LEAF_TAG, contract, clearingId, index,
/// trade))): no leaf preimage is 64 bytes like an inner node's (no second preimage). Inner nodes hash their two
/// children sorted, OpenZeppelin MerkleProof's commutative hashing, so proofs verify with MerkleProof.verifyCalldata.
/// Everything is hashed in scratch memory past the free pointer, never allocated per item.
library ClearingHashing {
    bytes32 internal constant ORDER_TYPEHASH = keccak256(
        "Order(address owner,uint8 side,uint64 energyWh,uint96 limitPricePerWh,bytes32 areaId,"
        "uint40 windowStart,uint40 windowEnd,bytes32 routeHash,uint64 nonce,uint40 expiry)"
    );
    bytes32 internal constant TRADE_LEAF_TAG = keccak256("v2vchain.Clearing.TradeLeaf.v1");
    uint256 internal constant ORDER_BYTES = 0x140; // an Order's 10 words
    uint256 internal constant MIN_WAYPOINTS = 2;
    uint256 internal constant MAX_WAYPOINTS = 8; // v2vchain.protocol.routes.MAX_WAYPOINTS
    uint256 internal constant WAYPOINT_BYTES = 42; // bytes32 area id, uint40 arrive, uint40 depart
    uint256 internal constant TRADE_BYTES = 0x160; // a Trade's 11 words
    uint256 internal constant LEAF_HEADER = 0x80; // tag, contract, clearing id, index

    /// @dev The orders are hashed from their raw words, so each must be a valid encoding of its type: what is signed
    /// is then exactly what any ABI decoder reads back from the calldata.
    function requireClean(uint256 k, IClearing.SignedOrder calldata o) internal pure {
        bool dirty;
        assembly ("memory-safe") {
            dirty := or(
                or(
                    or(shr(160, calldataload(o)), shr(8, calldataload(add(o, 0x20)))),
                    shr(64, calldataload(add(o, 0x40)))
                ),
                or(
                    or(shr(96, calldataload(add(o, 0x60))), shr(40, calldataload(add(o, 0xa0)))),
                    or(
                        or(shr(40, calldataload(add(o, 0xc0))), shr(64, calldataload(add(o, 0x100)))),
                        or(shr(40, calldataload(add(o, 0x120))), shr(8, calldataload(add(o, 0x140))))
                    )
                )
            )
        }
        if (dirty) revert IClearing.MalformedOrder(k);
    }

    /// @dev EIP-712 digest of an order, from its calldata words (the caller has checked they are clean).
    function orderDigest(IClearing.Order calldata o, bytes32 separator) internal pure returns (bytes32 digest) {
        bytes32 typehash = ORDER_TYPEHASH;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, typehash)
            calldatacopy(add(p, 0x20), o, ORDER_BYTES)
            let structHash := keccak256(p, add(0x20, ORDER_BYTES))
            mstore(p, 0x1901000000000000000000000000000000000000000000000000000000000000)
            mstore(add(p, 0x02), separator)
            mstore(add(p, 0x22), structHash)
            digest := keccak256(p, 0x42)
        }
    }

    /// @dev The route an order with a routeHash takes from `routes` at `at`: one byte n (2..8), then n waypoints of
    /// 42 bytes, the whole hashing to routeHash. Returns where the next route starts. The contract reads neither
    /// cells nor times (the audit does); it only makes the published route the one the owner signed.
    function consumeRoute(uint256 k, bytes calldata routes, uint256 at, bytes32 routeHash)
        internal
        pure
        returns (uint256 end)
    {
        uint256 left = routes.length - at; // at <= routes.length: each route ends inside the blob
        if (left == 0) revert IClearing.RouteTruncated(k, 1, 0);
        uint256 n = uint8(routes[at]);
        if (n < MIN_WAYPOINTS || n > MAX_WAYPOINTS) revert IClearing.RouteLength(k, n);
        uint256 size = 1 + n * WAYPOINT_BYTES;
        if (size > left) revert IClearing.RouteTruncated(k, size, left);
        bytes32 h;
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, add(routes.offset, at), size)
            h := keccak256(p, size)
        }
        if (h != routeHash) revert IClearing.RouteMismatch(k);
        end = at + size;
    }

    /// @dev The leaf of a trade given as calldata, hashed from its words as they are: only the clean encoding
    /// commitClearing hashed can match a committed root.
    function tradeLeaf(uint256 clearingId, uint256 index, IClearing.Trade calldata t)
        internal
        view
        returns (bytes32 leaf)
    {
        bytes32 tag = TRADE_LEAF_TAG;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, tag)
            mstore(add(p, 0x20), address())
            mstore(add(p, 0x40), clearingId)
            mstore(add(p, 0x60), index)
            calldatacopy(add(p, LEAF_HEADER), t, TRADE_BYTES)
            mstore(0x00, keccak256(p, add(LEAF_HEADER, TRADE_BYTES)))
            leaf := keccak256(0x00, 0x20)
        }
    }

    /// @dev Every leaf of a whole trade list (Trade is static: the array's elements are contiguous in calldata).
    function tradeLeaves(uint256 clearingId, IClearing.Trade[] calldata trades)
        internal
        view
        returns (bytes32[] memory leaves)
    {
        uint256 n = trades.length;
        leaves = new bytes32[](n);
        bytes32 tag = TRADE_LEAF_TAG;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, tag)
            mstore(add(p, 0x20), address())
            mstore(add(p, 0x40), clearingId)
            let src := trades.offset
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                mstore(add(p, 0x60), i)
                calldatacopy(add(p, LEAF_HEADER), add(src, mul(i, TRADE_BYTES)), TRADE_BYTES)
                mstore(0x00, keccak256(p, add(LEAF_HEADER, TRADE_BYTES)))
                mstore(add(add(leaves, 0x20), shl(5, i)), keccak256(0x00, 0x20))
            }
        }
    }

    /// @dev A buffer for the leaves commitClearing derives: the leaf header, then a Trade the caller fills in place.
    function leafBuffer(uint256 clearingId) internal view returns (bytes memory buf, IClearing.Trade memory t) {
        buf = new bytes(LEAF_HEADER + TRADE_BYTES);
        bytes32 tag = TRADE_LEAF_TAG;
        assembly ("memory-safe") {
            mstore(add(buf, 0x20), tag)
            mstore(add(buf, 0x40), address())
            mstore(add(buf, 0x60), clearingId)
            t := add(buf, add(0x20, LEAF_HEADER))
        }
    }

    function bufferLeaf(bytes memory buf, uint256 index) internal pure returns (bytes32 leaf) {
        assembly ("memory-safe") {
            mstore(add(buf, 0x80), index)
            mstore(0x00, keccak256(add(buf, 0x20), add(LEAF_HEADER, TRADE_BYTES)))
            leaf := keccak256(0x00, 0x20)
        }
    }

    /// @dev Bottom-up in place (the array is consumed); pairs hashed sorted; an odd last node moves up unchanged.
    function merkleRoot(bytes32[] memory nodes) internal pure returns (bytes32 root) {
        assembly ("memory-safe") {
            let base := add(nodes, 0x20)
            for { let n := mload(nodes) } gt(n, 1) { } {
                let half := shr(1, n)
                for { let i := 0 } lt(i, half) { i := add(i, 1) } {
                    let a := mload(add(base, shl(6, i)))
                    let b := mload(add(base, add(shl(6, i), 0x20)))
                    if gt(a, b) {
                        let x := a
                        a := b
                        b := x
                    }
                    mstore(0x00, a)
                    mstore(0x20, b)
                    mstore(add(base, shl(5, i)), keccak256(0x00, 0x40))
                }
                if and(n, 1) { mstore(add(base, shl(5, half)), mload(add(base, shl(5, sub(n, 1))))) }
                n := add(half, and(n, 1))
            }
            if mload(nodes) { root := mload(base) }
        }
    }
}
