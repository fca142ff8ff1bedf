// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IClearing} from "../interfaces/IClearing.sol";
import {ClearingHashing} from "../libraries/ClearingHashing.sol";
import {Vault} from "./Vault.sol";

/// @notice The delivery half of the batch Clearing: every committed trade settles exactly once, on its own against
/// the clearing's trade root (the buyer's confirmation, the seller's receipt, finalize, reclaim) or in a batch of
/// buyer-signed receipts. Clearing.sol holds the commit that opens the trades.
abstract contract TradeSettlement is IClearing, Vault {
    uint256 internal constant MASK96 = (1 << 96) - 1;
    // Two flag bits per trade, 128 trades a word: one read tells whether a trade is open and confirmation pending.
    uint256 internal constant OPEN = 1;
    uint256 internal constant PENDING = 2;

    bytes32 public constant RECEIPT_TYPEHASH =
        keccak256("TradeReceipt(uint256 clearingId,uint256 tradeIndex,uint64 deliveredWh)");

    uint256 public immutable gracePeriod;

    mapping(uint256 => bytes32) public tradesRootOf; // non-zero once committed
    mapping(uint256 => mapping(uint256 => uint256)) internal _flags; // clearing => word => 128 x (open, pending)
    mapping(uint256 => mapping(uint256 => uint64)) public confirmedWh; // the buyer's pending partial confirmation

    constructor(uint256 gracePeriod_) {
        gracePeriod = gracePeriod_;
    }

    // ---------------------------------------------------------------- delivery

    /// @notice The buyer states what its meter delivered. In full, or once the window plus grace has passed, the
    /// trade settles now; a partial figure before that is recorded, and the seller may still settle for more with
    /// a receipt the buyer signed until the window plus grace ends; then anyone may finalize at this figure.
    function confirmDelivery(
        uint256 clearingId,
        uint256 tradeIndex,
        Trade calldata trade,
        bytes32[] calldata proof,
        uint64 deliveredWh
    ) external nonReentrant {
        uint256 f = _requireOpen(clearingId, tradeIndex, trade, proof);
        if (msg.sender != trade.buyer) revert NotBuyer(msg.sender, trade.buyer);
        if (f & PENDING != 0) revert AlreadyConfirmed(clearingId, tradeIndex, confirmedWh[clearingId][tradeIndex]);
        uint256 finalFrom = uint256(trade.deliveryEnd) + gracePeriod;
        if (deliveredWh >= trade.energyWh || block.timestamp >= finalFrom) {
            _settleOne(clearingId, tradeIndex, trade, deliveredWh, Resolution.Confirmed);
        } else {
            _setFlags(clearingId, tradeIndex, OPEN | PENDING);
            confirmedWh[clearingId][tradeIndex] = deliveredWh;
            emit DeliveryConfirmed(clearingId, tradeIndex, deliveredWh, finalFrom);
        }
    }

    /// @notice The seller settles with the meter receipt the buyer signed (for more than a pending confirmation).
    function claimWithReceipt(
        uint256 clearingId,
        uint256 tradeIndex,
        Trade calldata trade,
        bytes32[] calldata proof,
        uint64 deliveredWh,
        bytes calldata buyerSig
    ) external nonReentrant {
        uint256 f = _requireOpen(clearingId, tradeIndex, trade, proof);
        if (msg.sender != trade.seller) revert NotSeller(msg.sender, trade.seller);
        if (block.timestamp < trade.deliveryStart) revert TooEarly(block.timestamp, trade.deliveryStart);
        _requireReceipt(clearingId, tradeIndex, trade.buyer, deliveredWh, buyerSig);
        if (f & PENDING != 0) {
            uint64 confirmed = confirmedWh[clearingId][tradeIndex];
            if (deliveredWh <= confirmed) revert ReceiptNotAboveConfirmation(deliveredWh, confirmed);
            uint256 deadline = uint256(trade.deliveryEnd) + gracePeriod;
            if (block.timestamp >= deadline) revert TooLate(block.timestamp, deadline);
            delete confirmedWh[clearingId][tradeIndex];
        }
        _settleOne(clearingId, tradeIndex, trade, deliveredWh, Resolution.Receipt);
    }

    /// @notice Anyone, once the window plus grace has passed: a pending partial confirmation becomes final.
    function finalize(uint256 clearingId, uint256 tradeIndex, Trade calldata trade, bytes32[] calldata proof)
        external
        nonReentrant
    {
        uint256 f = _requireOpen(clearingId, tradeIndex, trade, proof);
        if (f & PENDING == 0) revert NoPendingConfirmation(clearingId, tradeIndex);
        uint256 finalFrom = uint256(trade.deliveryEnd) + gracePeriod;
        if (block.timestamp < finalFrom) revert TooEarly(block.timestamp, finalFrom);
        uint64 confirmed = confirmedWh[clearingId][tradeIndex];
        delete confirmedWh[clearingId][tradeIndex];
        _settleOne(clearingId, tradeIndex, trade, confirmed, Resolution.Finalized);
    }

    /// @notice Anyone, once the window plus grace has passed with nothing confirmed: the buyer's payment returns and
    /// the seller's penalty goes to the sink, so a false "nothing delivered" pays nobody.
    function reclaim(uint256 clearingId, uint256 tradeIndex, Trade calldata trade, bytes32[] calldata proof)
        external
        nonReentrant
    {
        uint256 f = _requireOpen(clearingId, tradeIndex, trade, proof);
        if (f & PENDING != 0) revert ConfirmationPending(clearingId, tradeIndex, confirmedWh[clearingId][tradeIndex]);
        uint256 allowedFrom = uint256(trade.deliveryEnd) + gracePeriod;
        if (block.timestamp < allowedFrom) revert TooEarly(block.timestamp, allowedFrom);
        _setFlags(clearingId, tradeIndex, 0);
        uint256 payment = uint256(trade.energyWh) * trade.pricePerWh;
        escrowed -= payment;
        emit TradeClosed(clearingId, tradeIndex, Resolution.Reclaimed, 0, 0, 0, payment);
        _addFree(trade.buyer, payment);
        _forfeit(trade.seller, clearingId, _penalty(trade.energyWh, trade.sellerPricePerWh));
    }

    /// @notice Anyone (the operator, typically) settles many trades with buyer-signed receipts: `trades` is the
    /// clearing's whole trade list, re-hashed to its root (cheaper than a proof per trade). A trade already closed,
    /// or whose receipt does not exceed a pending confirmation in time, is skipped. Rule: a receipt for less than
    /// the trade's energy is accepted only from the trade's seller (ShortReceiptNotFromSeller).
    function settleReceipts(uint256 clearingId, Trade[] calldata trades, Receipt[] calldata receipts)
        external
        nonReentrant
    {
        bytes32 root = tradesRootOf[clearingId];
        if (root == 0) revert UnknownClearing(clearingId);
        bytes32 computed = ClearingHashing.merkleRoot(ClearingHashing.tradeLeaves(clearingId, trades));
        if (computed != root) revert TradesRootMismatch(computed, root);
        uint256 released = 0;
        uint256 spread = 0;
        for (uint256 k = 0; k < receipts.length; ++k) {
            (uint256 payment, uint256 toOperator) = _settleReceipt(clearingId, trades, receipts[k]);
            released += payment;
            spread += toOperator;
        }
        escrowed -= released;
        if (spread != 0) _addFree(_operatorOf(clearingId), spread);
    }

    /// @dev One receipt of a batch: (0, 0) when skipped.
    function _settleReceipt(uint256 clearingId, Trade[] calldata trades, Receipt calldata r)
        private
        returns (uint256, uint256)
    {
        uint256 i = r.tradeIndex;
        if (i >= trades.length) revert TradeIndexOutOfRange(i, trades.length);
        Trade calldata t = trades[i];
        uint256 f = _flagsOf(clearingId, i);
        if (f & OPEN == 0) return (0, 0);
        uint64 wh = r.deliveredWh;
        if (wh < t.energyWh && msg.sender != t.seller) revert ShortReceiptNotFromSeller(i, wh, t.energyWh);
        if (block.timestamp < t.deliveryStart) revert TooEarly(block.timestamp, t.deliveryStart);
        _requireReceipt(clearingId, i, t.buyer, wh, r.signature);
        if (f & PENDING != 0) {
            if (wh <= confirmedWh[clearingId][i] || block.timestamp >= uint256(t.deliveryEnd) + gracePeriod) {
                return (0, 0);
            }
            delete confirmedWh[clearingId][i];
        }
        return _pay(clearingId, i, t, wh, Resolution.Receipt);
    }

    // ---------------------------------------------------------------- views

    function receiptDigest(uint256 clearingId, uint256 tradeIndex, uint64 deliveredWh) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(RECEIPT_TYPEHASH, clearingId, tradeIndex, deliveredWh)));
    }

    function isTradeOpen(uint256 clearingId, uint256 tradeIndex) external view returns (bool) {
        return _flagsOf(clearingId, tradeIndex) & OPEN != 0;
    }

    // ---------------------------------------------------------------- internals: delivery

    function _requireOpen(uint256 clearingId, uint256 tradeIndex, Trade calldata t, bytes32[] calldata proof)
        private
        view
        returns (uint256 f)
    {
        bytes32 root = tradesRootOf[clearingId];
        if (root == 0) revert UnknownClearing(clearingId);
        if (!MerkleProof.verifyCalldata(proof, root, ClearingHashing.tradeLeaf(clearingId, tradeIndex, t))) {
            revert InvalidProof(clearingId, tradeIndex);
        }
        f = _flagsOf(clearingId, tradeIndex);
        if (f & OPEN == 0) revert TradeNotOpen(clearingId, tradeIndex);
    }

    function _requireReceipt(uint256 clearingId, uint256 tradeIndex, address buyer, uint64 wh, bytes calldata sig)
        private
        view
    {
        address signer = _signer(receiptDigest(clearingId, tradeIndex, wh), sig);
        if (signer != buyer) revert NotSignedByBuyer(signer, buyer);
    }

    function _settleOne(uint256 clearingId, uint256 tradeIndex, Trade calldata t, uint64 wh, Resolution how) private {
        (uint256 payment, uint256 toOperator) = _pay(clearingId, tradeIndex, t, wh, how);
        escrowed -= payment;
        if (toOperator != 0) _addFree(_operatorOf(clearingId), toOperator);
    }

    /// @dev The one place a delivered trade moves money (the caller releases the escrow and pays the operator): the
    /// trade closed first; the seller paid pro rata with its penalty unlocked, in one write of its Account word;
    /// the rest back to the buyer.
    function _pay(uint256 clearingId, uint256 tradeIndex, Trade calldata t, uint256 deliveredWh, Resolution how)
        private
        returns (uint256 payment, uint256 toOperator)
    {
        _setFlags(clearingId, tradeIndex, 0);
        uint256 energy = t.energyWh;
        uint256 delivered = deliveredWh < energy ? deliveredWh : energy;
        uint256 toSeller = delivered * t.sellerPricePerWh;
        toOperator = delivered * (t.pricePerWh - t.sellerPricePerWh);
        payment = energy * t.pricePerWh;
        uint256 toBuyer = payment - toSeller - toOperator;
        uint256 penalty = _penalty(energy, t.sellerPricePerWh);
        (uint256 slot, uint256 w) = _word(t.seller);
        uint256 free = (w & MASK96) + toSeller + penalty;
        if (free > MAX_AMOUNT) revert AmountTooLarge(free, MAX_AMOUNT);
        w = (w & ~MASK96) - (penalty << 96) + free; // locked >= penalty: it was locked by this trade's commit
        assembly {
            sstore(slot, w)
        }
        emit TradeClosed(clearingId, tradeIndex, how, uint64(delivered), toSeller, toOperator, toBuyer);
        if (toBuyer != 0) _addFree(t.buyer, toBuyer);
    }

    function _flagsOf(uint256 clearingId, uint256 i) private view returns (uint256) {
        return (_flags[clearingId][i >> 7] >> ((i & 127) << 1)) & 3;
    }

    function _setFlags(uint256 clearingId, uint256 i, uint256 f) internal {
        uint256 shift = (i & 127) << 1;
        mapping(uint256 => uint256) storage flags = _flags[clearingId];
        flags[i >> 7] = (flags[i >> 7] & ~(3 << shift)) | (f << shift);
    }

    /// @dev The operator is part of the id: nothing to store.
    function _operatorOf(uint256 clearingId) internal pure returns (address) {
        return address(uint160(clearingId >> 96));
    }

    function _word(address account) internal view returns (uint256 slot, uint256 w) {
        Account storage a = accounts[account];
        assembly ("memory-safe") {
            slot := a.slot
            w := sload(slot)
        }
    }
}
