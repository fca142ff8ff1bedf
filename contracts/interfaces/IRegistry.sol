// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice What the venues ask of the Registry: may this vehicle trade in this role now.
interface IRegistry {
    /// @notice Reverts with the reason `vehicle` may not trade in `role` now (role 0: any role).
    function requireActive(address vehicle, uint8 role) external view;

    function isActive(address vehicle, uint8 role) external view returns (bool);
}
