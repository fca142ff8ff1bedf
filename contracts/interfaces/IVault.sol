// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice The money model both venues share: one packed account per address {free, locked, nonce floor}.
/// free is withdrawable and is what payments and penalty cover are taken from; locked backs penalties of open trades
/// and bids; the nonce floor voids signed orders and bids below it.
interface IVault {
    error ZeroAmount();
    error AmountTooLarge(uint256 amount, uint256 max);
    error InsufficientFreeBalance(address account, uint256 free, uint256 needed);
    error FeeOnTransferToken(uint256 expected, uint256 received);
    error NonceFloorNotRaised(uint64 newFloor, uint64 floor);
    error PenaltyRoundsToZero(uint256 energyWh, uint256 pricePerWh);
    error BadConfig();
    error ZeroAddress();
    // delivery rules both venues apply
    error NotBuyer(address caller, address buyer);
    error NotSeller(address caller, address seller);
    error NotSignedByBuyer(address signer, address buyer);
    error TooEarly(uint256 nowTs, uint256 allowedFrom);

    event Deposited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    /// @dev ref is the venue's id of the trade that credited (request id, or clearing id).
    event Credited(address indexed account, uint256 indexed ref, uint256 amount);
    /// @dev A penalty taken from `account`'s locked balance into the sink, which nobody can withdraw.
    event Forfeited(address indexed account, uint256 indexed ref, uint256 amount);
    event NoncesCancelled(address indexed account, uint64 nonceFloor);

    function deposit(uint256 amount) external;

    function withdraw(uint256 amount) external;

    function cancelNonces(uint64 newFloor) external;
}
