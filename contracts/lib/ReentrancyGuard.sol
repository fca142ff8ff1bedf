// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice One lock for every function that moves tokens; 1/2 rather than 0/1 keeps the slot warm-cheap.
abstract contract ReentrancyGuard {
    error Reentrancy();

    uint256 private _lock = 1;

    modifier nonReentrant() {
        if (_lock != 1) revert Reentrancy();
        _lock = 2;
        _;
        _lock = 1;
    }
}
