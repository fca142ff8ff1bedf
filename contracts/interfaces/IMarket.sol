// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice The reverse auction's errors, events and structs.
interface IMarket {
    error UnknownRequest(uint256 requestId);
    error WrongStatus(uint256 requestId, Status status, Status required);
    error EnergyOutOfRange(uint256 energyWh, uint256 maxEnergyWh);
    error ZeroPrice();
    error BadDeadline(uint256 deadline, uint256 nowTs, uint256 latest);
    error BadDeliveryWindow(uint256 start, uint256 end);
    error BiddingClosed(uint256 requestId, uint256 deadline, uint256 nowTs);
    error BiddingStillOpen(uint256 requestId, uint256 deadline, uint256 nowTs);
    error SelfBid(uint256 requestId, address buyer);
    error BidAboveMax(uint256 price, uint256 maxPrice);
    error BidNotLower(uint256 price, uint256 bestPrice);
    error TooManyBids(uint256 count, uint256 max);
    error RelayPeriod(uint256 requestId, address caller, uint256 openToAllFrom);
    error ReceiptNotAboveConfirmation(uint256 requestId, uint256 receiptWh, uint256 confirmedWh);

    enum Status {
        None,
        Open,
        Awarded,
        Settled,
        Expired,
        Reclaimed,
        Confirmed // the buyer confirmed less than the award; the seller may still settle with a receipt for more
    }

    /// @notice Why closeWithSignedBids passed over a relayed bid (the call itself never fails for a bad bid).
    enum Rejection {
        Expired,
        Cancelled,
        EnergyMismatch,
        BadSignature,
        NotActiveSeller,
        SelfBid,
        ZeroPrice,
        AboveMax,
        InsufficientCover
    }

    /// @dev Three slots. Bids other than the best live only in events.
    struct Request {
        address buyer;
        uint96 maxPrice; // token units per Wh
        uint64 energyWh;
        uint40 deadline;
        uint40 deliveryStart;
        uint40 deliveryEnd;
        Status status;
        uint64 confirmedWh; // the buyer's pending confirmation (status Confirmed)
        address seller; // best bidder until close, then the winner
        uint96 price; // best price until close, then the awarded price
    }

    /// @notice A seller's off-chain bid, relayed at close: the seller pays no gas and rivals cannot see it before
    /// the deadline.
    struct SignedBid {
        address seller;
        uint96 pricePerWh;
        uint64 energyWh;
        uint64 nonce;
        uint40 expiry;
        bytes signature;
    }

    /// @dev Emitted once, by the constructor: the immutables an audit needs to judge from events alone each penalty
    /// (penaltyBps), each settlement's time (a reclaim or finalize only from a window's end plus gracePeriod, a short
    /// confirmation pending until then) and each request's deadline and window (maxLeadTime, maxDeliveryWindow).
    event MarketConfigured(
        uint256 penaltyBps, uint256 gracePeriod, uint256 maxLeadTime, uint256 maxDeliveryWindow, uint256 relayPeriod
    );
    event RequestOpened(
        uint256 indexed requestId,
        address indexed buyer,
        bytes32 indexed areaId,
        uint64 energyWh,
        uint96 maxPricePerWh,
        uint40 deadline,
        uint40 deliveryStart,
        uint40 deliveryEnd,
        bytes32 accessHash
    );
    /// @dev Only when the buyer names a relayer besides itself for the relay period.
    event RelayerNamed(uint256 indexed requestId, address indexed relayer);
    event BidPlaced(uint256 indexed requestId, address indexed seller, uint96 pricePerWh);
    event SignedBidVerified(uint256 indexed requestId, address indexed seller, uint96 pricePerWh, uint64 nonce);
    event SignedBidRejected(uint256 indexed requestId, uint256 index, address indexed seller, Rejection reason);
    /// @dev The best on-chain bidder lost its credential before close: its bid no longer counts.
    event BidDisqualified(uint256 indexed requestId, address indexed seller);
    event Awarded(uint256 indexed requestId, address indexed seller, uint96 pricePerWh, uint256 payment, uint256 penalty);
    event Expired(uint256 indexed requestId, uint256 refund);
    event DeliveryConfirmed(uint256 indexed requestId, uint64 deliveredWh, uint256 finalFrom);
    event Settled(uint256 indexed requestId, address indexed settledBy, uint64 deliveredWh, uint256 paid, uint256 refund);
    /// @dev penalty went to the sink (Vault.Forfeited), not to the buyer.
    event Reclaimed(uint256 indexed requestId, uint256 refund, uint256 penalty);
}
