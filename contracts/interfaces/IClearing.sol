// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice The batch Clearing's types, errors and events (the logic is in contracts/Clearing.sol).
interface IClearing {
    /// @dev The EIP-712 order every owner signs (v2vchain.matching.signing.ORDER_TYPES).
    struct Order {
        address owner;
        uint8 side; // 1 buy, 2 sell
        uint64 energyWh;
        uint96 limitPricePerWh;
        bytes32 areaId;
        uint40 windowStart;
        uint40 windowEnd;
        bytes32 routeHash; // keccak of the route's packed encoding (v2vchain.protocol.routes), zero for none
        uint64 nonce;
        uint40 expiry;
    }

    struct SignedOrder {
        Order order;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice A trade as the operator commits it: indices into the order list, Wh, the buyer's and the seller's
    /// price (they differ only under McAfee trade reduction, mechanism 2).
    struct TradeInput {
        uint32 buyerOrder;
        uint32 sellerOrder;
        uint64 energyWh;
        uint96 pricePerWh;
        uint96 sellerPricePerWh;
    }

    /// @notice A trade as its Merkle leaf holds it: derived from its two orders by commitClearing.
    struct Trade {
        uint32 buyerOrder;
        uint32 sellerOrder;
        address buyer;
        address seller;
        uint64 buyerNonce;
        uint64 sellerNonce;
        uint64 energyWh;
        uint96 pricePerWh;
        uint96 sellerPricePerWh;
        uint40 deliveryStart;
        uint40 deliveryEnd;
    }

    struct Header {
        uint256 clearingId; // nextClearingId(msg.sender): the operator's address and its own sequence number
        uint16 mechanismId; // v2vchain.contracts.clearing.MECHANISM_IDS
        bytes32 paramsHash;
        bytes32 tradesRoot; // must equal the root built here from the trades
        uint32 marginalBuy; // mechanism 2 with a spread: the dropped marginal pair, orders that do not trade
        uint32 marginalSell;
    }

    /// @notice A meter receipt the buyer signed (EIP-712 TradeReceipt), for settleReceipts.
    struct Receipt {
        uint32 tradeIndex;
        uint64 deliveredWh;
        bytes signature;
    }

    enum Shortfall {
        None,
        BuyerFree, // the buyer's free balance is below the payment
        SellerCover, // the seller's free balance is below the penalty
        BuyerOrderSpent, // the buyer's order is below its floor: used by an earlier clearing, or cancelled
        SellerOrderSpent,
        BuyerInactive, // the buyer's registration is revoked, expired or lacks the role when the commit is mined
        SellerInactive
    }

    enum Resolution {
        Confirmed, // the buyer confirmed (in full, or after the grace period)
        Receipt, // the seller, or a batch, with the buyer's signed receipt
        Finalized, // the buyer's partial confirmation, after the grace period
        Reclaimed // nothing confirmed: the buyer's payment back, the seller's penalty to the sink
    }

    // ------------------------------------------------------------ commit
    error WrongClearingId(uint256 given, uint256 expected);
    error EmptyClearing();
    error TooManyTrades(uint256 count, uint256 max);
    error TooManyOrders(uint256 count, uint256 max);
    error UnknownMechanism(uint256 mechanismId);
    error MalformedOrder(uint256 orderIndex);
    error OrdersNotSorted(uint256 orderIndex);
    error InvalidOrderSignature(uint256 orderIndex, address owner, address signer);
    error OrderIndexOutOfRange(uint256 tradeIndex, uint256 orderIndex, uint256 orderCount);
    error WrongSide(uint256 tradeIndex, uint256 orderIndex, uint8 side, uint8 required);
    error SelfTrade(uint256 tradeIndex, address owner);
    error ZeroTrade(uint256 tradeIndex);
    error PriceAboveBuyerLimit(uint256 tradeIndex, uint256 pricePerWh, uint256 limitPricePerWh);
    error PriceBelowSellerLimit(uint256 tradeIndex, uint256 sellerPricePerWh, uint256 limitPricePerWh);
    error SellerPriceAboveBuyerPrice(uint256 tradeIndex, uint256 sellerPricePerWh, uint256 pricePerWh);
    error SpreadNotAllowed(uint256 tradeIndex, uint256 pricePerWh, uint256 sellerPricePerWh);
    error PriceNotUniform(uint256 tradeIndex, uint256 pricePerWh, uint256 sellerPricePerWh);
    error BadMarginalPair(uint256 marginalBuy, uint256 marginalSell);
    error MarginalPriceMismatch(uint256 pricePerWh, uint256 buyLimit, uint256 sellerPricePerWh, uint256 sellLimit);
    error OrderOverfilled(uint256 tradeIndex, uint256 orderIndex, uint256 filledWh, uint256 energyWh);
    error WindowsDisjoint(uint256 tradeIndex, uint256 start, uint256 end);
    error WindowEnded(uint256 tradeIndex, uint256 deliveryEnd, uint256 nowTs);
    error OrderExpired(uint256 orderIndex, uint256 expiry, uint256 nowTs);
    error NonceExhausted(uint256 orderIndex);
    error TradesRootMismatch(bytes32 computed, bytes32 expected);
    /// @dev The routes argument: each order with a routeHash takes the next route of the blob, in order-list order.
    error RouteLength(uint256 orderIndex, uint256 waypoints); // the route's first byte is not 2..8
    error RouteTruncated(uint256 orderIndex, uint256 needed, uint256 left); // fewer bytes left than the route needs
    error RouteMismatch(uint256 orderIndex); // the published route does not hash to the routeHash its owner signed
    error UnusedRouteBytes(uint256 count); // bytes left after the last routed order's route

    // ------------------------------------------------------------ delivery
    error UnknownClearing(uint256 clearingId);
    error InvalidProof(uint256 clearingId, uint256 tradeIndex);
    error TradeNotOpen(uint256 clearingId, uint256 tradeIndex);
    error TradeIndexOutOfRange(uint256 tradeIndex, uint256 tradeCount);
    error TooLate(uint256 nowTs, uint256 deadline);
    error AlreadyConfirmed(uint256 clearingId, uint256 tradeIndex, uint64 confirmedWh);
    error NoPendingConfirmation(uint256 clearingId, uint256 tradeIndex);
    error ConfirmationPending(uint256 clearingId, uint256 tradeIndex, uint64 confirmedWh);
    error ReceiptNotAboveConfirmation(uint64 deliveredWh, uint64 confirmedWh);
    /// @dev A receipt for less than the trade's energy settles only by the trade's seller: anyone else could
    /// otherwise settle with a lower, earlier receipt the buyer signed during delivery.
    error ShortReceiptNotFromSeller(uint256 tradeIndex, uint64 deliveredWh, uint64 energyWh);

    /// @dev Emitted once, by the constructor: the immutables an audit needs to judge penalties and settlement times
    /// (a reclaim or finalize before a window's end plus gracePeriod) from events alone.
    event ClearingConfigured(uint256 penaltyBps, uint256 gracePeriod, uint256 maxTrades, uint256 maxOrders);
    /// @dev Every trade not reported by TradeUnfunded in the same transaction opened in escrow.
    event ClearingCommitted(
        uint256 indexed clearingId,
        address indexed operator,
        uint16 indexed mechanismId,
        bytes32 paramsHash,
        bytes32 orderSetHash,
        bytes32 tradesRoot,
        uint256 tradeCount,
        uint256 orderCount,
        uint256 openedTrades,
        uint256 escrowedAmount,
        bytes32 commitment
    );
    event TradeUnfunded(uint256 indexed clearingId, uint256 tradeIndex, Shortfall reason);
    /// @dev The buyer's partial confirmation: the seller may still settle for more with a receipt until
    /// settleableFrom, then anyone may finalize at this figure.
    event DeliveryConfirmed(uint256 indexed clearingId, uint256 tradeIndex, uint64 deliveredWh, uint256 finalFrom);
    /// @dev Reclaimed: toBuyer is the payment back; the seller's penalty is reported by Vault's Forfeited.
    event TradeClosed(
        uint256 indexed clearingId,
        uint256 tradeIndex,
        Resolution how,
        uint64 deliveredWh,
        uint256 toSeller,
        uint256 toOperator,
        uint256 toBuyer
    );
}
