// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {TradeSettlement} from "./base/TradeSettlement.sol";
import {Vault} from "./base/Vault.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";
import {ClearingHashing} from "./libraries/ClearingHashing.sol";

/// @notice Many-to-many clearing computed off-chain by an operator and checked here in full: nobody, the operator
/// included, can move a user's money beyond what that user's own signature allows. A commit verifies every order's
/// signature and every rule and moves the money at once; delivery (base/TradeSettlement.sol) settles per trade or in
/// batch against the trade root. The design and its gas are in the README ("Committing and settling a clearing on-chain").
contract Clearing is TradeSettlement {
    uint8 private constant SIDE_BUY = 1;
    uint8 private constant SIDE_SELL = 2;
    uint16 private constant TRADE_REDUCTION = 2;
    uint16 private constant MAX_MECHANISM = 5;
    uint256 private constant MAX_GRACE = 30 days;
    uint256 private constant MAX_BATCH = 2048;
    uint256 private constant FLOOR_CLEAR = (1 << 192) - 1; // an Account word without its nonceFloor
    uint256 private constant TRADED = 1 << 255; // in an order's commit state, beside its Wh filled
    uint256 private constant CHECKED = 1 << 254; // its owner's registration was read in this commit
    uint256 private constant INACTIVE = 1 << 253; // ... and was not active in the order's role
    uint256 private constant FILLED = INACTIVE - 1; // the Wh filled, below the flags

    bytes32 public constant ORDER_TYPEHASH = ClearingHashing.ORDER_TYPEHASH;
    bytes32 public constant TRADE_LEAF_TAG = ClearingHashing.TRADE_LEAF_TAG;
    bytes32 public constant COMMITMENT_TAG = keccak256("v2vchain.Clearing.Commitment.v2");

    uint256 public immutable maxTrades;
    uint256 public immutable maxOrders;

    mapping(address => uint256) public nextSeq; // per operator

    /// @dev Scratch of one commit, in memory to keep the stack shallow.
    struct Commit {
        uint256 clearingId;
        uint16 mechanismId;
        uint256[] state; // per order: Wh filled over the trades, TRADED when a funded trade used it
        bytes32[] leaves;
        uint256 opened;
        uint256 total; // escrowed by this commit
        uint256 price; // the first trade's prices, for the uniform-price rule
        uint256 sellerPrice;
    }

    constructor(
        address initialOwner,
        IERC20 token_,
        IRegistry registry_,
        uint256 penaltyBps_,
        uint256 gracePeriod_,
        uint256 maxTrades_,
        uint256 maxOrders_
    ) Vault("V2V Clearing", initialOwner, token_, registry_, penaltyBps_) TradeSettlement(gracePeriod_) {
        if (
            penaltyBps_ == 0 || gracePeriod_ == 0 || gracePeriod_ > MAX_GRACE || maxTrades_ == 0
                || maxTrades_ > MAX_BATCH || maxOrders_ < 2 || maxOrders_ > 2 * MAX_BATCH
        ) revert BadConfig();
        maxTrades = maxTrades_;
        maxOrders = maxOrders_;
        emit ClearingConfigured(penaltyBps_, gracePeriod_, maxTrades_, maxOrders_);
    }

    // ---------------------------------------------------------------- commit

    /// @notice Publish, check and fund a clearing (see the contract notes); the calldata is the publication.
    /// `routes` is the concatenation, in order-list order, of the routes of the orders with a non-zero routeHash.
    function commitClearing(
        Header calldata header,
        SignedOrder[] calldata orders,
        TradeInput[] calldata trades,
        bytes calldata routes
    )
        external
        whenNotPaused
        nonReentrant
        returns (uint256 clearingId)
    {
        registry.requireActive(msg.sender, ANY_ROLE);
        clearingId = _takeId(header.clearingId);
        uint256 n = trades.length;
        uint256 m = orders.length;
        if (n == 0) revert EmptyClearing();
        if (n > maxTrades) revert TooManyTrades(n, maxTrades);
        if (m > maxOrders) revert TooManyOrders(m, maxOrders);
        if (header.mechanismId == 0 || header.mechanismId > MAX_MECHANISM) revert UnknownMechanism(header.mechanismId);

        Commit memory c = Commit({
            clearingId: clearingId,
            mechanismId: header.mechanismId,
            state: new uint256[](m),
            leaves: new bytes32[](n),
            opened: 0,
            total: 0,
            price: 0,
            sellerPrice: 0
        });
        bytes32 orderSetHash = _verifyOrders(orders, routes);
        _applyTrades(c, orders, trades);
        _closeOrders(orders, c.state);
        if (c.mechanismId == TRADE_REDUCTION && c.price != c.sellerPrice) _checkMarginalPair(header, orders, c);

        bytes32 root = ClearingHashing.merkleRoot(c.leaves);
        if (root != header.tradesRoot) revert TradesRootMismatch(root, header.tradesRoot);
        tradesRootOf[clearingId] = root;
        escrowed += c.total;
        _emitCommitted(header, orderSetHash, n, m, c);
    }

    function _takeId(uint256 given) private returns (uint256 id) {
        uint256 seq = nextSeq[msg.sender];
        id = nextClearingId(msg.sender);
        if (given != id) revert WrongClearingId(given, id);
        nextSeq[msg.sender] = seq + 1;
    }

    /// @dev Each order once: clean words, strictly increasing (owner, nonce), signed by its owner, its route (if it
    /// signed one) the next in `routes`; every byte of `routes` some order's.
    function _verifyOrders(SignedOrder[] calldata orders, bytes calldata routes) private view returns (bytes32) {
        uint256 m = orders.length;
        bytes32[] memory digests = new bytes32[](m);
        bytes32 separator = _domainSeparatorV4();
        uint256 previous = 0;
        uint256 at = 0; // where the next route starts in `routes`
        for (uint256 k = 0; k < m; ++k) {
            SignedOrder calldata o = orders[k];
            ClearingHashing.requireClean(k, o);
            {
                address owner = o.order.owner;
                uint256 key = (uint256(uint160(owner)) << 64) | o.order.nonce;
                if (key <= previous) revert OrdersNotSorted(k);
                previous = key;
                bytes32 digest = ClearingHashing.orderDigest(o.order, separator);
                address signer = _signer(digest, o.v, o.r, o.s);
                if (signer != owner) revert InvalidOrderSignature(k, owner, signer);
                digests[k] = digest;
            }
            bytes32 routeHash = o.order.routeHash;
            if (routeHash != 0) at = ClearingHashing.consumeRoute(k, routes, at, routeHash);
        }
        if (at != routes.length) revert UnusedRouteBytes(routes.length - at);
        return keccak256(abi.encodePacked(digests));
    }

    /// @dev Per trade: derive and check, hash its leaf, fund it or skip it. Open bits are written a word at a time.
    function _applyTrades(Commit memory c, SignedOrder[] calldata orders, TradeInput[] calldata inputs) private {
        (bytes memory buf, Trade memory t) = ClearingHashing.leafBuffer(c.clearingId);
        uint256 n = inputs.length;
        uint256 bits = 0;
        for (uint256 i = 0; i < n; ++i) {
            bits |= _applyTrade(c, buf, t, i, inputs[i], orders) << ((i & 127) << 1);
            if (i & 127 == 127 || i == n - 1) {
                if (bits != 0) _flags[c.clearingId][i >> 7] = bits;
                bits = 0;
            }
        }
    }

    function _applyTrade(
        Commit memory c,
        bytes memory buf,
        Trade memory t,
        uint256 i,
        TradeInput calldata x,
        SignedOrder[] calldata orders
    ) private returns (uint256 openBit) {
        _derive(t, i, x, orders, c.state);
        _checkPrice(c, i, t.pricePerWh, t.sellerPricePerWh);
        c.leaves[i] = ClearingHashing.bufferLeaf(buf, i);
        Shortfall why = _inactiveParty(c.state, t);
        uint256 payment = 0;
        if (why == Shortfall.None) (why, payment) = _fund(t);
        if (why != Shortfall.None) {
            emit TradeUnfunded(c.clearingId, i, why);
            return 0;
        }
        c.state[t.buyerOrder] |= TRADED;
        c.state[t.sellerOrder] |= TRADED;
        ++c.opened;
        c.total += payment;
        return OPEN;
    }

    function _derive(
        Trade memory t,
        uint256 i,
        TradeInput calldata x,
        SignedOrder[] calldata orders,
        uint256[] memory state
    ) private view {
        Order calldata b = _orderAt(orders, i, x.buyerOrder, SIDE_BUY);
        Order calldata s = _orderAt(orders, i, x.sellerOrder, SIDE_SELL);
        if (b.owner == s.owner) revert SelfTrade(i, b.owner);
        uint256 energy = x.energyWh;
        uint256 price = x.pricePerWh;
        uint256 sellerPrice = x.sellerPricePerWh;
        if (energy == 0 || sellerPrice == 0) revert ZeroTrade(i);
        if (price > b.limitPricePerWh) revert PriceAboveBuyerLimit(i, price, b.limitPricePerWh);
        if (sellerPrice < s.limitPricePerWh) revert PriceBelowSellerLimit(i, sellerPrice, s.limitPricePerWh);
        if (sellerPrice > price) revert SellerPriceAboveBuyerPrice(i, sellerPrice, price);
        if (energy * price > MAX_AMOUNT) revert AmountTooLarge(energy * price, MAX_AMOUNT);
        _fill(state, i, x.buyerOrder, energy, b.energyWh);
        _fill(state, i, x.sellerOrder, energy, s.energyWh);
        uint40 start = b.windowStart > s.windowStart ? b.windowStart : s.windowStart;
        uint40 end = b.windowEnd < s.windowEnd ? b.windowEnd : s.windowEnd;
        if (start >= end) revert WindowsDisjoint(i, start, end);
        if (end <= block.timestamp) revert WindowEnded(i, end, block.timestamp);
        t.buyerOrder = x.buyerOrder;
        t.sellerOrder = x.sellerOrder;
        t.buyer = b.owner;
        t.seller = s.owner;
        t.buyerNonce = b.nonce;
        t.sellerNonce = s.nonce;
        t.energyWh = x.energyWh;
        t.pricePerWh = x.pricePerWh;
        t.sellerPricePerWh = x.sellerPricePerWh;
        t.deliveryStart = start;
        t.deliveryEnd = end;
    }

    function _orderAt(SignedOrder[] calldata orders, uint256 tradeIndex, uint256 orderIndex, uint8 side)
        private
        pure
        returns (Order calldata order)
    {
        if (orderIndex >= orders.length) revert OrderIndexOutOfRange(tradeIndex, orderIndex, orders.length);
        order = orders[orderIndex].order;
        if (order.side != side) revert WrongSide(tradeIndex, orderIndex, order.side, side);
    }

    /// @dev Orders are listed once, so Wh summed per index is Wh summed per (owner, nonce).
    function _fill(uint256[] memory state, uint256 tradeIndex, uint256 orderIndex, uint256 energyWh, uint256 cap)
        private
        pure
    {
        uint256 st = state[orderIndex];
        uint256 total = (st & FILLED) + energyWh;
        if (total > cap) revert OrderOverfilled(tradeIndex, orderIndex, total, cap);
        state[orderIndex] = st + energyWh;
    }

    /// @dev Mechanism 2 alone may pay the seller less than the buyer pays; 1 and 2 price every trade alike.
    function _checkPrice(Commit memory c, uint256 i, uint256 price, uint256 sellerPrice) private pure {
        if (c.mechanismId != TRADE_REDUCTION && price != sellerPrice) revert SpreadNotAllowed(i, price, sellerPrice);
        if (c.mechanismId > TRADE_REDUCTION) return;
        if (i == 0) {
            (c.price, c.sellerPrice) = (price, sellerPrice);
        } else if (price != c.price || sellerPrice != c.sellerPrice) {
            revert PriceNotUniform(i, price, sellerPrice);
        }
    }

    /// @dev McAfee: buyers pay the dropped marginal buyer's limit, sellers get the dropped marginal seller's.
    function _checkMarginalPair(Header calldata h, SignedOrder[] calldata orders, Commit memory c) private pure {
        uint256 mb = h.marginalBuy;
        uint256 ms = h.marginalSell;
        if (
            mb >= orders.length || ms >= orders.length || orders[mb].order.side != SIDE_BUY
                || orders[ms].order.side != SIDE_SELL || c.state[mb] != 0 || c.state[ms] != 0
        ) revert BadMarginalPair(mb, ms);
        uint256 buyLimit = orders[mb].order.limitPricePerWh;
        uint256 sellLimit = orders[ms].order.limitPricePerWh;
        if (c.price != buyLimit || c.sellerPrice != sellLimit) {
            revert MarginalPriceMismatch(c.price, buyLimit, c.sellerPrice, sellLimit);
        }
    }

    /// @dev A party whose registration lapsed between the operator's plan and the mined commit (revoked by its
    /// issuer, expired, its role or issuer withdrawn) skips its trade rather than reverting the commit: nobody can
    /// void a clearing by having one vehicle revoked. Each order's owner is read from the Registry once per commit.
    function _inactiveParty(uint256[] memory state, Trade memory t) private view returns (Shortfall) {
        if (!_active(state, t.buyerOrder, t.buyer, ROLE_BUYER)) return Shortfall.BuyerInactive;
        if (!_active(state, t.sellerOrder, t.seller, ROLE_SELLER)) return Shortfall.SellerInactive;
        return Shortfall.None;
    }

    function _active(uint256[] memory state, uint256 k, address owner, uint8 role) private view returns (bool) {
        uint256 st = state[k];
        if (st & CHECKED == 0) {
            st |= registry.isActive(owner, role) ? CHECKED : CHECKED | INACTIVE;
            state[k] = st;
        }
        return st & INACTIVE == 0;
    }

    /// @dev The hot path: each party's packed Account word (free bits 0-95, locked 96-191, nonceFloor 192-255) read
    /// once and written once. Nothing is written unless both sides are covered. free >= the amount taken, so
    /// subtracting from the whole word never borrows from the fields above it.
    function _fund(Trade memory t) private returns (Shortfall, uint256 payment) {
        uint256 energy = t.energyWh;
        payment = energy * t.pricePerWh;
        uint256 penalty = _penalty(energy, t.sellerPricePerWh); // PenaltyRoundsToZero: refused, not skipped
        (uint256 bSlot, uint256 bw) = _word(t.buyer);
        (uint256 sSlot, uint256 sw) = _word(t.seller);
        // Floors are raised only after every trade, so these are the floors before this clearing. A spent order
        // skips its trade rather than reverting the commit: nobody can void a clearing by cancelling an order, or by
        // committing copies of its signed orders first.
        if (t.buyerNonce < bw >> 192) return (Shortfall.BuyerOrderSpent, 0);
        if (t.sellerNonce < sw >> 192) return (Shortfall.SellerOrderSpent, 0);
        if (bw & MASK96 < payment) return (Shortfall.BuyerFree, 0);
        if (sw & MASK96 < penalty || ((sw >> 96) & MASK96) + penalty > MAX_AMOUNT) return (Shortfall.SellerCover, 0);
        unchecked {
            bw -= payment;
            sw = sw - penalty + (penalty << 96);
        }
        assembly ("memory-safe") {
            sstore(bSlot, bw)
            sstore(sSlot, sw)
        }
    }

    /// @dev Every order some trade used: unexpired; every order a funded trade used: its owner's floor raised past
    /// it (its owner's registration was checked by _inactiveParty before the trade was funded).
    function _closeOrders(SignedOrder[] calldata orders, uint256[] memory state) private {
        uint256 m = orders.length;
        for (uint256 k = 0; k < m; ++k) {
            uint256 st = state[k];
            if (st == 0) continue;
            Order calldata o = orders[k].order;
            if (block.timestamp > o.expiry) revert OrderExpired(k, o.expiry, block.timestamp);
            if (o.nonce == type(uint64).max) revert NonceExhausted(k);
            if (st & TRADED != 0) _raiseFloor(o.owner, o.nonce);
        }
    }

    /// @dev Orders are sorted, so an owner's later order has a higher nonce: the last write is its highest + 1.
    function _raiseFloor(address owner, uint256 nonce) private {
        (uint256 slot, uint256 w) = _word(owner);
        w = (w & FLOOR_CLEAR) | ((nonce + 1) << 192);
        assembly {
            sstore(slot, w)
        }
    }

    function _emitCommitted(Header calldata h, bytes32 orderSetHash, uint256 n, uint256 m, Commit memory c) private {
        bytes32 commitment = keccak256(
            abi.encode(
                COMMITMENT_TAG,
                block.chainid,
                address(this),
                h.clearingId,
                msg.sender,
                h.mechanismId,
                h.paramsHash,
                orderSetHash,
                h.tradesRoot,
                h.marginalBuy,
                h.marginalSell,
                n,
                m
            )
        );
        emit ClearingCommitted(
            h.clearingId, msg.sender, h.mechanismId, h.paramsHash, orderSetHash, h.tradesRoot, n, m, c.opened, c.total,
            commitment
        );
    }

    // ---------------------------------------------------------------- views

    /// @notice The id `operator`'s next commit must carry.
    function nextClearingId(address operator) public view returns (uint256) {
        return (uint256(uint160(operator)) << 96) | nextSeq[operator];
    }

    function orderDigest(Order calldata order) external view returns (bytes32) {
        return ClearingHashing.orderDigest(order, _domainSeparatorV4());
    }
}
