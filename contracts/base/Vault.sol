// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IRegistry} from "../interfaces/IRegistry.sol";
import {IVault} from "../interfaces/IVault.sol";

/// @notice One money model for both venues. Every balance change of a user goes through the internal functions
/// below; a venue decides when, this base decides how. Books: token balance >= sum(free + locked) + escrowed + sunk.
/// The owner can pause new trading and nothing else: no function here or in a venue lets it move users' funds.
abstract contract Vault is IVault, EIP712, Ownable2Step, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @dev One slot: a trade reads and writes each party's account once.
    struct Account {
        uint96 free;
        uint96 locked;
        uint64 nonceFloor;
    }

    uint8 internal constant ANY_ROLE = 0;
    uint8 internal constant ROLE_BUYER = 1;
    uint8 internal constant ROLE_SELLER = 2;
    uint256 internal constant BPS = 10_000;
    uint256 public constant MAX_AMOUNT = type(uint96).max;

    IERC20 public immutable token;
    IRegistry public immutable registry;
    uint256 public immutable penaltyBps;

    mapping(address => Account) public accounts;
    uint256 public escrowed; // buyers' payments held for open trades
    uint256 public sunk; // forfeited penalties: owned by nobody, so a no-show claim never pays its claimant

    constructor(
        string memory name,
        address initialOwner,
        IERC20 token_,
        IRegistry registry_,
        uint256 penaltyBps_
    ) EIP712(name, "1") Ownable(initialOwner) {
        if (address(token_) == address(0) || address(registry_) == address(0)) revert ZeroAddress();
        if (penaltyBps_ > BPS) revert BadConfig();
        token = token_;
        registry = registry_;
        penaltyBps = penaltyBps_;
    }

    /// @notice Stops new trading only; settlement, delivery and every withdrawal keep working.
    function pause() external onlyOwner {
        _pause();
    }

    function unpause() external onlyOwner {
        _unpause();
    }

    /// @notice Credentialed vehicles fund their account: buyers' payments and sellers' penalty cover.
    function deposit(uint256 amount) external nonReentrant {
        registry.requireActive(msg.sender, ANY_ROLE);
        if (amount == 0) revert ZeroAmount();
        _addFree(msg.sender, amount);
        emit Deposited(msg.sender, amount);
        _pull(amount);
    }

    /// @notice Any part of the free balance, always: revoked vehicles and while paused too.
    function withdraw(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Account storage a = accounts[msg.sender];
        uint256 free = a.free;
        if (amount > free) revert InsufficientFreeBalance(msg.sender, free, amount);
        a.free = uint96(free - amount);
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice Void every signed order or bid of the caller with a nonce below newFloor.
    function cancelNonces(uint64 newFloor) external {
        Account storage a = accounts[msg.sender];
        uint64 floor = a.nonceFloor;
        if (newFloor <= floor) revert NonceFloorNotRaised(newFloor, floor);
        a.nonceFloor = newFloor;
        emit NoncesCancelled(msg.sender, newFloor);
    }

    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function penaltyFor(uint256 energyWh, uint256 pricePerWh) external view returns (uint256) {
        return _penalty(energyWh, pricePerWh);
    }

    // ---------------------------------------------------------------- the one place balances change

    /// @dev Escrow the caller's payment: from its free balance first, the shortfall pulled from its wallet.
    function _escrowFromCaller(uint256 amount) internal {
        Account storage a = accounts[msg.sender];
        uint256 free = a.free;
        uint256 fromFree = free < amount ? free : amount;
        if (fromFree != 0) a.free = uint96(free - fromFree);
        escrowed += amount;
        if (amount > fromFree) _pull(amount - fromFree);
    }

    /// @dev Release escrow to its payees (the caller credits them).
    function _release(uint256 amount) internal {
        escrowed -= amount;
    }

    function _lock(address account, uint256 amount) internal {
        Account storage a = accounts[account];
        uint256 free = a.free;
        if (free < amount) revert InsufficientFreeBalance(account, free, amount);
        a.free = uint96(free - amount);
        a.locked += uint96(amount);
    }

    function _unlock(address account, uint256 amount) internal {
        Account storage a = accounts[account];
        a.locked -= uint96(amount);
        a.free += uint96(amount);
    }

    /// @dev A locked penalty goes to the sink: neither the trigger of a no-show nor anyone else profits from it.
    function _forfeit(address account, uint256 ref, uint256 amount) internal {
        if (amount == 0) return;
        accounts[account].locked -= uint96(amount);
        sunk += amount;
        emit Forfeited(account, ref, amount);
    }

    function _credit(address account, uint256 ref, uint256 amount) internal {
        if (amount == 0) return;
        _addFree(account, amount);
        emit Credited(account, ref, amount);
    }

    function _addFree(address account, uint256 amount) internal {
        Account storage a = accounts[account];
        uint256 free = a.free + amount;
        if (free > MAX_AMOUNT) revert AmountTooLarge(free, MAX_AMOUNT);
        a.free = uint96(free);
    }

    /// @dev Rounds down, the one rounding rule; a trade whose penalty would round to zero is refused, so every
    /// penalty is at most penaltyBps of the value and never zero when penalties are on.
    function _penalty(uint256 energyWh, uint256 pricePerWh) internal view returns (uint256 penalty) {
        penalty = energyWh * pricePerWh * penaltyBps / BPS;
        if (penalty == 0 && penaltyBps != 0) revert PenaltyRoundsToZero(energyWh, pricePerWh);
    }

    /// @dev The signer of `digest`, or zero for a malformed, malleable (high s) or unrecoverable signature: the
    /// caller compares it with the expected signer and names the failure itself.
    function _signer(bytes32 digest, bytes calldata signature) internal pure returns (address) {
        // slither-disable-next-line unused-return
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        return err == ECDSA.RecoverError.NoError ? signer : address(0);
    }

    function _signer(bytes32 digest, uint8 v, bytes32 r, bytes32 s) internal pure returns (address) {
        // slither-disable-next-line unused-return
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, v, r, s);
        return err == ECDSA.RecoverError.NoError ? signer : address(0);
    }

    /// @dev Pulls from the caller only (never an arbitrary `from`), measuring what arrived, so a fee-on-transfer
    /// token cannot leave the books short.
    function _pull(uint256 amount) internal {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert FeeOnTransferToken(amount, received);
    }
}
