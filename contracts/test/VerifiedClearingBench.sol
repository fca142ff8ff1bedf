// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "../lib/IERC20.sol";
import {Clearing, IVehicleRegistry} from "../Clearing.sol";

/// @notice Benchmark fixture only: design (A), every order's signature verified inside the commit, so nothing is
/// left for a challenge. Deployed with a zero challenge window, settle can follow in the next block.
contract VerifiedClearingBench is Clearing {
    error BenchOrderNotSignedByOwner(uint256 orderIndex, address signer, address owner);

    constructor(
        address initialAdmin,
        IERC20 token_,
        IVehicleRegistry registry_,
        uint256 challengeWindow_,
        uint256 operatorBond_,
        uint256 penaltyBps_,
        uint256 gracePeriod_,
        uint256 maxTrades_,
        uint256 maxOrders_
    )
        Clearing(
            initialAdmin, token_, registry_, challengeWindow_, operatorBond_, penaltyBps_, gracePeriod_, maxTrades_, maxOrders_
        )
    {}

    function commitVerified(Header calldata header, SignedOrder[] calldata orders, TradeInput[] calldata trades)
        external
        returns (uint256)
    {
        for (uint256 k = 0; k < orders.length; ++k) {
            SignedOrder calldata o = orders[k];
            address signer = _tryRecover(orderDigest(o.order), o.v, o.r, o.s);
            if (signer != o.order.owner) revert BenchOrderNotSignedByOwner(k, signer, o.order.owner);
        }
        return _commit(header, orders, trades);
    }
}
