// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ECDSA} from "./lib/ECDSA.sol";
import {EIP712} from "./lib/EIP712.sol";
import {IERC20} from "./lib/IERC20.sol";
import {Owned2Step} from "./lib/Owned2Step.sol";
import {ReentrancyGuard} from "./lib/ReentrancyGuard.sol";
import {SafeTransfer} from "./lib/SafeTransfer.sol";

interface IVehicleRegistry {
    function requireActive(address vehicle, uint8 role) external view;
}

/// @notice Many-to-many clearing done off-chain by an operator, committed here, settled in batch after a
/// challenge window, then delivered and paid per trade under the core's escrow rules.
///
/// Commit (one transaction): the operator, any active vehicle with a free bond, sends the signed orders and the
/// trades (order indices, Wh, the buyer's and the seller's price) as calldata. The orders are published as this
/// calldata, not an event: it is already paid for, and anyone fetches it by the transaction hash of
/// ClearingCommitted; a log would cost 8 gas a byte more for the same bytes. The contract itself derives each
/// trade from its two orders and checks every rule that needs no signature: sides, distinct owners, the buyer's
/// price at or below the buyer's limit, the seller's price at or above the seller's limit and at most the buyer's,
/// energy per order summed over all trades of the clearing at most the order's, overlapping delivery windows ending
/// after the challenge window, unexpired orders of registered, active vehicles. It builds both Merkle roots itself
/// (order leaves with their signatures, trade leaves), so the published data always matches the roots.
///
/// Signatures are the one optimistic rule: during the window anyone may prove, with the order, its signature and
/// a Merkle proof against the committed order set, that an order was not signed by its owner. That reverts the
/// whole clearing (none of its trades settles) and pays the operator's bond to the challenger.
///
/// Settle (after the window, anyone): the full trade list is re-hashed to the committed root in one go (cheaper
/// than a proof per leaf). Per trade, the buyer's deposit pays into escrow and the seller's penalty cover is
/// locked, as an award does in the Market. A trade whose order was already spent (its nonce below the owner's
/// floor: used by an earlier settled clearing, or cancelled), whose buyer's deposit or seller's cover is short, or
/// whose delivery window has already ended is skipped (TradeUnfunded) and stays untouched; the others open.
/// Afterwards each owner's nonce floor moves past every order that traded, so an order serves one clearing.
/// Delivery follows Market: the buyer confirms, or the seller claims with the buyer's signed receipt; after the
/// window plus grace the buyer reclaims the payment and the seller's penalty. Each of these proves its trade with a
/// Merkle proof and closes it in a bitmap.
///
/// Why optimistic signatures (scripts/bench_settlement.py): recovering both orders' signatures in the commit costs
/// about 8.6k gas a trade on top of ~43k for commit + settle; left to a challenge, the settle transaction stays
/// under 20k a trade. What a missed challenge can cost is bounded by the escrow: a forged buyer order only locks
/// the victim's deposit until it reclaims it (with the seller's penalty); a forged seller order can cost the victim
/// its penalty. Each vehicle's node watches its own address in every commit's calldata and challenges.
/// The calldata is the publication only when the operator calls this contract directly (a commit made through
/// another contract needs a trace to read). Trade leaves carry this contract and the clearing id; the chain id is
/// in every order's EIP-712 digest and in the commitment, not in the leaves, so a chain split does not strand
/// clearings in flight.
///
/// Books: token balance >= sum(free + locked) + sum(bond) + escrowed.
contract Clearing is EIP712, Owned2Step, ReentrancyGuard {
    using SafeTransfer for IERC20;

    error ZeroAmount();
    error AmountTooLarge(uint256 amount, uint256 max);
    error InsufficientFreeBalance(address account, uint256 free, uint256 needed);
    error InsufficientBond(address operator, uint256 free, uint256 needed);
    error FeeOnTransferToken(uint256 expected, uint256 received);
    error NonceFloorNotRaised(uint64 newFloor, uint64 floor);
    error ClearingPaused();
    error BadConfig();
    error ClearingIdTaken(uint256 clearingId, uint256 nextClearingId);
    error EmptyClearing();
    error TooManyTrades(uint256 count, uint256 max);
    error TooManyOrders(uint256 count, uint256 max);
    error OrderIndexOutOfRange(uint256 tradeIndex, uint256 orderIndex, uint256 orderCount);
    error WrongSide(uint256 tradeIndex, uint256 orderIndex, uint8 side, uint8 required);
    error SelfTrade(uint256 tradeIndex, address owner);
    error ZeroTrade(uint256 tradeIndex);
    error PriceAboveBuyerLimit(uint256 tradeIndex, uint256 pricePerWh, uint256 limitPricePerWh);
    error PriceBelowSellerLimit(uint256 tradeIndex, uint256 sellerPricePerWh, uint256 limitPricePerWh);
    error SellerPriceAboveBuyerPrice(uint256 tradeIndex, uint256 sellerPricePerWh, uint256 pricePerWh);
    error OrderOverfilled(uint256 tradeIndex, uint256 orderIndex, uint256 filledWh, uint256 energyWh);
    error WindowsDisjoint(uint256 tradeIndex, uint256 start, uint256 end);
    error DeliveryEndsBeforeSettlement(uint256 tradeIndex, uint256 deliveryEnd, uint256 settleFrom);
    error OrderExpired(uint256 orderIndex, uint256 expiry, uint256 nowTs);
    error NonceExhausted(uint256 orderIndex);
    error MalformedOrder(uint256 orderIndex);
    error OrderSetHashMismatch(bytes32 computed, bytes32 expected);
    error TradesRootMismatch(bytes32 computed, bytes32 expected);
    error UnknownClearing(uint256 clearingId);
    error WrongClearingStatus(uint256 clearingId, Status status, Status required);
    error ChallengeWindowOpen(uint256 clearingId, uint256 deadline, uint256 nowTs);
    error ChallengeWindowClosed(uint256 clearingId, uint256 deadline, uint256 nowTs);
    error TradeCountMismatch(uint256 committed, uint256 given);
    error InvalidProof(uint256 clearingId, uint256 index);
    error OrderSignatureValid(uint256 clearingId, uint256 orderIndex, address owner);
    error TradeNotOpen(uint256 clearingId, uint256 tradeIndex);
    error NotBuyer(address caller, address buyer);
    error NotSeller(address caller, address seller);
    error NotSignedByBuyer(address signer, address buyer);
    error TooEarly(uint256 nowTs, uint256 allowedFrom);

    event Deposited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event Credited(address indexed account, uint256 indexed clearingId, uint256 amount);
    event BondPosted(address indexed operator, uint256 amount);
    event BondWithdrawn(address indexed operator, uint256 amount);
    event OrdersCancelled(address indexed owner, uint64 nonceFloor);
    event PausedSet(bool paused);
    event ClearingCommitted(
        uint256 indexed clearingId,
        address indexed operator,
        uint16 indexed mechanismId,
        bytes32 paramsHash,
        bytes32 orderSetHash,
        bytes32 tradesRoot,
        uint256 tradeCount,
        uint256 orderCount,
        uint256 challengeDeadline,
        bytes32 commitment
    );
    event ClearingChallenged(
        uint256 indexed clearingId,
        address indexed challenger,
        uint256 orderIndex,
        address owner,
        address signer,
        uint256 slashed
    );
    /// @dev Every trade not reported by TradeUnfunded in the same transaction opened in escrow.
    event ClearingSettled(
        uint256 indexed clearingId,
        address indexed settledBy,
        uint256 openedTrades,
        uint256 unfundedTrades,
        uint256 escrowed
    );
    event TradeUnfunded(uint256 indexed clearingId, uint256 tradeIndex, Shortfall reason);
    event TradeClosed(
        uint256 indexed clearingId,
        uint256 indexed tradeIndex,
        Resolution how,
        uint64 deliveredWh,
        uint256 toSeller,
        uint256 toOperator,
        uint256 toBuyer
    );

    enum Status {
        None,
        Committed,
        Settled,
        Reverted
    }

    enum Shortfall {
        None,
        BuyerOrderSpent,
        SellerOrderSpent,
        BuyerDeposit,
        SellerCover,
        DeliveryWindowPassed
    }

    enum Resolution {
        Confirmed,
        Receipt,
        Reclaimed
    }

    /// @dev The EIP-712 order every owner signs (v2vchain.matching.signing.ORDER_TYPES).
    struct Order {
        address owner;
        uint8 side; // 1 buy, 2 sell
        uint64 energyWh;
        uint96 limitPricePerWh;
        bytes32 areaId;
        uint40 windowStart;
        uint40 windowEnd;
        uint64 nonce;
        uint40 expiry;
    }

    struct SignedOrder {
        Order order;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice A trade as the operator commits it: which orders, how much, at what prices. The buyer pays
    /// pricePerWh, the seller receives sellerPricePerWh; they differ only under trade reduction (operator's spread).
    struct TradeInput {
        uint32 buyerOrder;
        uint32 sellerOrder;
        uint64 energyWh;
        uint96 pricePerWh;
        uint96 sellerPricePerWh;
    }

    /// @notice A trade as its Merkle leaf holds it: derived from its orders by commitClearing.
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
        uint256 clearingId; // must be nextClearingId: the leaves are bound to it
        uint16 mechanismId;
        bytes32 paramsHash;
        bytes32 orderSetHash; // Merkle root of the order leaves, checked against the one computed here
        bytes32 tradesRoot; // Merkle root of the trade leaves, checked against the one computed here
    }

    /// @dev One slot: a settlement reads and writes each party's account once.
    struct Account {
        uint96 free; // deposits and credits, withdrawable, spent on payments and penalty cover
        uint96 locked; // sellers' penalties for open trades
        uint64 nonceFloor; // orders below it are spent or cancelled
    }

    struct Bond {
        uint128 total;
        uint128 locked; // operatorBond per clearing still in its challenge window or not yet settled
    }

    struct ClearingRecord {
        address operator; // packed with the four fields below into one slot
        uint40 challengeDeadline;
        uint24 tradeCount;
        uint24 orderCount;
        Status status;
        bytes32 orderSetHash;
        bytes32 tradesRoot;
    }

    uint8 private constant SIDE_BUY = 1;
    uint8 private constant SIDE_SELL = 2;
    uint8 private constant ROLE_BUYER = 1;
    uint8 private constant ROLE_SELLER = 2;
    uint8 private constant ANY_ROLE = 0; // requireActive(v, 0): registered, unrevoked, unexpired, any role
    uint256 private constant BPS = 10_000;
    uint256 private constant MAX_COUNT = type(uint24).max;
    uint256 private constant MAX_WINDOW = 30 days;
    uint256 private constant ORDER_BYTES = 0x120; // an Order's 9 words in calldata
    uint256 private constant TRADE_BYTES = 0x160; // a Trade's 11 words
    uint256 private constant LEAF_HEADER = 0x80; // tag, contract, clearing id, index
    // word positions of a Trade
    uint256 private constant W_BUYER_ORDER = 0;
    uint256 private constant W_SELLER_ORDER = 1;
    uint256 private constant W_BUYER = 2;
    uint256 private constant W_SELLER = 3;
    uint256 private constant W_BUYER_NONCE = 4;
    uint256 private constant W_SELLER_NONCE = 5;
    uint256 private constant W_ENERGY = 6;
    uint256 private constant W_PRICE = 7;
    uint256 private constant W_SELLER_PRICE = 8;
    uint256 private constant W_DELIVERY_END = 10;
    uint256 private constant FLOOR_CLEAR = (1 << 192) - 1; // an Account word without its nonceFloor
    uint256 private constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    // order states during one settlement
    uint256 private constant UNSEEN = 0;
    uint256 private constant LIVE = 1;
    uint256 private constant SPENT = 2;
    uint256 private constant TRADED = 3;
    uint256 private constant FLOOR_RAISED = 4;

    uint256 public constant MAX_AMOUNT = type(uint96).max;
    bytes32 public constant ORDER_TYPEHASH = keccak256(
        "Order(address owner,uint8 side,uint64 energyWh,uint96 limitPricePerWh,bytes32 areaId,"
        "uint40 windowStart,uint40 windowEnd,uint64 nonce,uint40 expiry)"
    );
    bytes32 public constant RECEIPT_TYPEHASH =
        keccak256("TradeReceipt(uint256 clearingId,uint256 tradeIndex,uint64 deliveredWh)");
    // Leaves are domain-tagged and double-hashed: no leaf preimage is 64 bytes like an inner node's.
    bytes32 public constant ORDER_LEAF_TAG = keccak256("v2vchain.Clearing.OrderLeaf.v1");
    bytes32 public constant TRADE_LEAF_TAG = keccak256("v2vchain.Clearing.TradeLeaf.v1");
    bytes32 public constant COMMITMENT_TAG = keccak256("v2vchain.Clearing.Commitment.v1");

    IERC20 public immutable token;
    IVehicleRegistry public immutable registry;
    uint256 public immutable challengeWindow;
    uint256 public immutable operatorBond;
    uint256 public immutable penaltyBps;
    uint256 public immutable gracePeriod;
    uint256 public immutable maxTrades;
    uint256 public immutable maxOrders;

    bool public paused;
    uint256 public nextClearingId = 1;
    uint256 public escrowed; // buyers' payments of open trades
    mapping(uint256 => ClearingRecord) public clearings;
    mapping(address => Account) public accounts;
    mapping(address => Bond) public bonds;
    mapping(uint256 => mapping(uint256 => uint256)) private _openTrades; // clearing => word => 256 trade bits

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
    ) EIP712("V2V Clearing", "1") Owned2Step(initialAdmin) {
        if (address(token_) == address(0) || address(registry_) == address(0)) revert ZeroAddress();
        if (
            challengeWindow_ > MAX_WINDOW || gracePeriod_ > MAX_WINDOW || operatorBond_ == 0
                || operatorBond_ > MAX_AMOUNT || penaltyBps_ > BPS || maxTrades_ == 0 || maxTrades_ > MAX_COUNT
                || maxOrders_ == 0 || maxOrders_ > MAX_COUNT
        ) revert BadConfig();
        token = token_;
        registry = registry_;
        challengeWindow = challengeWindow_;
        operatorBond = operatorBond_;
        penaltyBps = penaltyBps_;
        gracePeriod = gracePeriod_;
        maxTrades = maxTrades_;
        maxOrders = maxOrders_;
    }

    modifier whenNotPaused() {
        if (paused) revert ClearingPaused();
        _;
    }

    /// @notice Pausing stops new clearings only; settlement, challenges, delivery and withdrawals keep working.
    function setPaused(bool paused_) external onlyAdmin {
        paused = paused_;
        emit PausedSet(paused_);
    }

    // ---------------------------------------------------------------- money in and out

    /// @notice Buyers' payments and sellers' penalty cover, measured by balance difference.
    function deposit(uint256 amount) external nonReentrant {
        registry.requireActive(msg.sender, ANY_ROLE);
        if (amount == 0) revert ZeroAmount();
        _addFree(msg.sender, amount);
        emit Deposited(msg.sender, amount);
        _pull(msg.sender, amount);
    }

    /// @notice Any part of the free balance, always (revoked vehicles and while paused too).
    function withdraw(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Account storage a = accounts[msg.sender];
        uint256 free = a.free;
        if (amount > free) revert InsufficientFreeBalance(msg.sender, free, amount);
        a.free = uint96(free - amount);
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    function postBond(uint256 amount) external nonReentrant {
        registry.requireActive(msg.sender, ANY_ROLE);
        if (amount == 0) revert ZeroAmount();
        Bond storage b = bonds[msg.sender];
        uint256 total = b.total + amount;
        if (total > MAX_AMOUNT) revert AmountTooLarge(total, MAX_AMOUNT);
        b.total = uint128(total);
        emit BondPosted(msg.sender, amount);
        _pull(msg.sender, amount);
    }

    /// @notice The part of the bond no unsettled clearing holds.
    function withdrawBond(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Bond storage b = bonds[msg.sender];
        uint256 free = b.total - b.locked;
        if (amount > free) revert InsufficientBond(msg.sender, free, amount);
        b.total -= uint128(amount);
        emit BondWithdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice Void every order of the caller with a nonce below newFloor that no settled clearing has used yet.
    function cancelOrders(uint64 newFloor) external {
        Account storage a = accounts[msg.sender];
        uint64 floor = a.nonceFloor;
        if (newFloor <= floor) revert NonceFloorNotRaised(newFloor, floor);
        a.nonceFloor = newFloor;
        emit OrdersCancelled(msg.sender, newFloor);
    }

    // ---------------------------------------------------------------- commit

    /// @notice Publish a clearing: the signed orders and the trades, checked and hashed here (see the contract notes).
    function commitClearing(Header calldata header, SignedOrder[] calldata orders, TradeInput[] calldata trades)
        external
        whenNotPaused
        returns (uint256 clearingId)
    {
        return _commit(header, orders, trades);
    }

    function _commit(Header calldata header, SignedOrder[] calldata orders, TradeInput[] calldata trades)
        internal
        returns (uint256 clearingId)
    {
        registry.requireActive(msg.sender, ANY_ROLE);
        clearingId = nextClearingId;
        if (header.clearingId != clearingId) revert ClearingIdTaken(header.clearingId, clearingId);
        if (trades.length == 0) revert EmptyClearing();
        if (trades.length > maxTrades) revert TooManyTrades(trades.length, maxTrades);
        if (orders.length > maxOrders) revert TooManyOrders(orders.length, maxOrders);
        uint256 deadline = block.timestamp + challengeWindow;

        bytes32 tradesRoot = _merkleRoot(_deriveTradeLeaves(clearingId, deadline, orders, trades));
        if (tradesRoot != header.tradesRoot) revert TradesRootMismatch(tradesRoot, header.tradesRoot);
        bytes32 orderSetHash = _merkleRoot(_orderLeaves(clearingId, orders));
        if (orderSetHash != header.orderSetHash) revert OrderSetHashMismatch(orderSetHash, header.orderSetHash);

        _lockBond(msg.sender);
        nextClearingId = clearingId + 1;
        clearings[clearingId] = ClearingRecord({
            operator: msg.sender,
            challengeDeadline: uint40(deadline),
            tradeCount: uint24(trades.length),
            orderCount: uint24(orders.length),
            status: Status.Committed,
            orderSetHash: orderSetHash,
            tradesRoot: tradesRoot
        });
        _emitCommitted(header, deadline, trades.length, orders.length);
    }

    function _lockBond(address operator) private {
        Bond storage b = bonds[operator];
        uint256 bond = operatorBond;
        uint256 free = b.total - b.locked;
        if (free < bond) revert InsufficientBond(operator, free, bond);
        b.locked += uint128(bond);
    }

    /// @dev The roots in the header equal the computed ones by now.
    function _emitCommitted(Header calldata h, uint256 deadline, uint256 tradeCount, uint256 orderCount) private {
        bytes32 commitment = keccak256(
            abi.encode(
                COMMITMENT_TAG,
                block.chainid,
                address(this),
                h.clearingId,
                msg.sender,
                h.mechanismId,
                h.paramsHash,
                h.orderSetHash,
                h.tradesRoot,
                tradeCount,
                orderCount
            )
        );
        emit ClearingCommitted(
            h.clearingId,
            msg.sender,
            h.mechanismId,
            h.paramsHash,
            h.orderSetHash,
            h.tradesRoot,
            tradeCount,
            orderCount,
            deadline,
            commitment
        );
    }

    // ---------------------------------------------------------------- challenge

    /// @notice During the window: prove that a published order was not signed by its owner. The clearing is
    /// reverted (none of its trades settles) and the operator's bond for it is credited to the challenger.
    function challenge(uint256 clearingId, uint256 orderIndex, SignedOrder calldata signed, bytes32[] calldata proof)
        external
    {
        ClearingRecord storage c = clearings[clearingId];
        _requireStatus(clearingId, c.status, Status.Committed);
        uint256 deadline = c.challengeDeadline;
        if (block.timestamp >= deadline) revert ChallengeWindowClosed(clearingId, deadline, block.timestamp);
        (bytes32 leaf, bytes32 digest) = _orderLeaf(clearingId, orderIndex, signed, domainSeparator());
        if (!_verify(proof, c.orderSetHash, leaf)) revert InvalidProof(clearingId, orderIndex);
        address owner = signed.order.owner;
        address signer = _tryRecover(digest, signed.v, signed.r, signed.s);
        if (signer == owner) revert OrderSignatureValid(clearingId, orderIndex, owner);

        c.status = Status.Reverted;
        uint256 bond = operatorBond;
        Bond storage b = bonds[c.operator];
        b.locked -= uint128(bond);
        b.total -= uint128(bond);
        emit ClearingChallenged(clearingId, msg.sender, orderIndex, owner, signer, bond);
        _credit(msg.sender, clearingId, bond);
    }

    // ---------------------------------------------------------------- settle

    /// @notice After the window, anyone: the committed trades, all of them in order, escrowed in one call.
    function settle(uint256 clearingId, Trade[] calldata trades) external {
        ClearingRecord storage c = clearings[clearingId];
        _requireStatus(clearingId, c.status, Status.Committed);
        uint256 deadline = c.challengeDeadline;
        if (block.timestamp < deadline) revert ChallengeWindowOpen(clearingId, deadline, block.timestamp);
        uint256 n = trades.length;
        if (n != c.tradeCount) revert TradeCountMismatch(c.tradeCount, n);
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            leaves[i] = _tradeLeaf(clearingId, i, trades[i]);
        }
        // From here on the calldata is byte for byte what commitClearing hashed from clean values.
        bytes32 root = _merkleRoot(leaves);
        if (root != c.tradesRoot) revert TradesRootMismatch(root, c.tradesRoot);

        c.status = Status.Settled;
        bonds[c.operator].locked -= uint128(operatorBond);
        (uint256 opened, uint256 total) = _escrowAll(clearingId, c.orderCount, trades);
        escrowed += total;
        emit ClearingSettled(clearingId, msg.sender, opened, n - opened, total);
    }

    // ---------------------------------------------------------------- delivery (per trade, Market's rules)

    /// @notice The buyer states what its meter delivered: the seller is paid pro rata, the rest returns.
    function confirmDelivery(
        uint256 clearingId,
        uint256 tradeIndex,
        Trade calldata trade,
        bytes32[] calldata proof,
        uint64 deliveredWh
    ) external {
        _requireOpen(clearingId, tradeIndex, trade, proof);
        if (msg.sender != trade.buyer) revert NotBuyer(msg.sender, trade.buyer);
        _release(clearingId, tradeIndex, trade, deliveredWh, Resolution.Confirmed);
    }

    /// @notice The seller settles without the buyer, with the meter receipt the buyer signed at delivery.
    function claimWithReceipt(
        uint256 clearingId,
        uint256 tradeIndex,
        Trade calldata trade,
        bytes32[] calldata proof,
        uint64 deliveredWh,
        bytes calldata buyerSig
    ) external {
        _requireOpen(clearingId, tradeIndex, trade, proof);
        if (msg.sender != trade.seller) revert NotSeller(msg.sender, trade.seller);
        if (block.timestamp < trade.deliveryStart) revert TooEarly(block.timestamp, trade.deliveryStart);
        address signer = ECDSA.recover(receiptDigest(clearingId, tradeIndex, deliveredWh), buyerSig);
        if (signer != trade.buyer) revert NotSignedByBuyer(signer, trade.buyer);
        _release(clearingId, tradeIndex, trade, deliveredWh, Resolution.Receipt);
    }

    /// @notice Nothing delivered or confirmed by the window's end plus grace: the buyer takes back the payment
    /// and the seller's penalty.
    function reclaim(uint256 clearingId, uint256 tradeIndex, Trade calldata trade, bytes32[] calldata proof) external {
        _requireOpen(clearingId, tradeIndex, trade, proof);
        if (msg.sender != trade.buyer) revert NotBuyer(msg.sender, trade.buyer);
        uint256 allowedFrom = uint256(trade.deliveryEnd) + gracePeriod;
        if (block.timestamp < allowedFrom) revert TooEarly(block.timestamp, allowedFrom);
        _close(clearingId, tradeIndex);
        uint256 payment = uint256(trade.energyWh) * trade.pricePerWh;
        uint256 penalty = _penalty(trade.energyWh, trade.sellerPricePerWh);
        accounts[trade.seller].locked -= uint96(penalty);
        escrowed -= payment;
        emit TradeClosed(clearingId, tradeIndex, Resolution.Reclaimed, 0, 0, 0, payment + penalty);
        _credit(trade.buyer, clearingId, payment + penalty);
    }

    // ---------------------------------------------------------------- views

    function orderDigest(Order calldata order) public view returns (bytes32) {
        return _orderDigest(order, domainSeparator());
    }

    function receiptDigest(uint256 clearingId, uint256 tradeIndex, uint64 deliveredWh) public view returns (bytes32) {
        return _hashTypedData(keccak256(abi.encode(RECEIPT_TYPEHASH, clearingId, tradeIndex, deliveredWh)));
    }

    function isTradeOpen(uint256 clearingId, uint256 tradeIndex) external view returns (bool) {
        return _openTrades[clearingId][tradeIndex >> 8] & (1 << (tradeIndex & 255)) != 0;
    }

    // ---------------------------------------------------------------- internals: commit

    /// @dev Every trade derived from its orders and checked; the orders that trade checked once each. Each trade
    /// is written into one buffer behind its leaf header and hashed there: no memory allocated per trade.
    function _deriveTradeLeaves(
        uint256 clearingId,
        uint256 settleFrom,
        SignedOrder[] calldata orders,
        TradeInput[] calldata inputs
    ) private view returns (bytes32[] memory leaves) {
        uint256 n = inputs.length;
        uint256[] memory filled = new uint256[](orders.length);
        leaves = new bytes32[](n);
        bytes memory buf = new bytes(LEAF_HEADER + TRADE_BYTES);
        bytes32 tag = TRADE_LEAF_TAG;
        Trade memory t;
        assembly ("memory-safe") {
            mstore(add(buf, 0x20), tag)
            mstore(add(buf, 0x40), address())
            mstore(add(buf, 0x60), clearingId)
            t := add(buf, add(0x20, LEAF_HEADER))
        }
        for (uint256 i = 0; i < n; ++i) {
            _derive(t, i, inputs[i], orders, filled);
            if (t.deliveryEnd <= settleFrom) revert DeliveryEndsBeforeSettlement(i, t.deliveryEnd, settleFrom);
            bytes32 leaf;
            assembly ("memory-safe") {
                mstore(add(buf, 0x80), i)
                mstore(0x00, keccak256(add(buf, 0x20), add(LEAF_HEADER, TRADE_BYTES)))
                leaf := keccak256(0x00, 0x20)
            }
            leaves[i] = leaf;
        }
        for (uint256 k = 0; k < orders.length; ++k) {
            if (filled[k] != 0) _checkTradingOrder(k, orders[k].order);
        }
    }

    function _derive(
        Trade memory t,
        uint256 i,
        TradeInput calldata x,
        SignedOrder[] calldata orders,
        uint256[] memory filled
    ) private pure {
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
        _fill(filled, i, x.buyerOrder, energy, b.energyWh);
        _fill(filled, i, x.sellerOrder, energy, s.energyWh);
        uint40 start = b.windowStart > s.windowStart ? b.windowStart : s.windowStart;
        uint40 end = b.windowEnd < s.windowEnd ? b.windowEnd : s.windowEnd;
        if (start >= end) revert WindowsDisjoint(i, start, end);
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

    function _fill(uint256[] memory filled, uint256 tradeIndex, uint256 orderIndex, uint256 energyWh, uint256 cap)
        private
        pure
    {
        uint256 total = filled[orderIndex] + energyWh;
        if (total > cap) revert OrderOverfilled(tradeIndex, orderIndex, total, cap);
        filled[orderIndex] = total;
    }

    function _checkTradingOrder(uint256 k, Order calldata o) private view {
        if (block.timestamp > o.expiry) revert OrderExpired(k, o.expiry, block.timestamp);
        if (o.nonce == type(uint64).max) revert NonceExhausted(k);
        registry.requireActive(o.owner, o.side == SIDE_BUY ? ROLE_BUYER : ROLE_SELLER);
    }

    function _orderLeaves(uint256 clearingId, SignedOrder[] calldata orders)
        private
        view
        returns (bytes32[] memory leaves)
    {
        uint256 m = orders.length;
        leaves = new bytes32[](m);
        bytes32 separator = domainSeparator();
        for (uint256 k = 0; k < m; ++k) {
            SignedOrder calldata o = orders[k];
            _requireClean(k, o);
            (leaves[k],) = _orderLeaf(clearingId, k, o, separator);
        }
    }

    /// @dev The order is hashed from its raw words below, so every word must be a valid encoding of its type:
    /// what is committed is then exactly what any ABI decoder reads back from the calldata.
    function _requireClean(uint256 k, SignedOrder calldata o) private pure {
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
                        or(shr(40, calldataload(add(o, 0xc0))), shr(64, calldataload(add(o, 0xe0)))),
                        or(shr(40, calldataload(add(o, 0x100))), shr(8, calldataload(add(o, 0x120))))
                    )
                )
            )
        }
        if (dirty) revert MalformedOrder(k);
    }

    // ---------------------------------------------------------------- internals: settle and delivery

    /// @dev Pass one escrows each trade against the owners' nonce floors as they stood before this clearing;
    /// pass two raises the floors past every order that traded. The open bits are written a word at a time.
    /// The trades' words are read raw: settle has checked they hash to the leaves commitClearing built from
    /// clean values.
    function _escrowAll(uint256 clearingId, uint256 orderCount, Trade[] calldata trades)
        private
        returns (uint256 opened, uint256 total)
    {
        uint256[] memory state = new uint256[](orderCount);
        mapping(uint256 => uint256) storage open = _openTrades[clearingId];
        uint256 n = trades.length;
        uint256 first;
        assembly ("memory-safe") {
            first := trades.offset
        }
        uint256 bits;
        for (uint256 i = 0; i < n; ++i) {
            (Shortfall why, uint256 payment) = _escrow(first + i * TRADE_BYTES, state);
            if (why == Shortfall.None) {
                bits |= 1 << (i & 255);
                ++opened;
                total += payment;
            } else {
                emit TradeUnfunded(clearingId, i, why);
            }
            if (i & 255 == 255 || i == n - 1) {
                if (bits != 0) open[i >> 8] = bits;
                bits = 0;
            }
        }
        for (uint256 i = 0; i < n; ++i) {
            uint256 t = first + i * TRADE_BYTES;
            _raiseFloor(state, _word(t, W_BUYER_ORDER), _word(t, W_BUYER), _word(t, W_BUYER_NONCE));
            _raiseFloor(state, _word(t, W_SELLER_ORDER), _word(t, W_SELLER), _word(t, W_SELLER_NONCE));
        }
    }

    /// @dev The hot path of settle: each party's account slot is read once and written once, as one word
    /// (Account packs free in bits 0-95, locked in 96-191, nonceFloor in 192-255). free >= the amount taken,
    /// so subtracting from the whole word never borrows from the fields above it.
    function _escrow(uint256 t, uint256[] memory state) private returns (Shortfall, uint256 payment) {
        // Opening a trade nobody can deliver any more would only hand the buyer the seller's penalty.
        if (block.timestamp >= _word(t, W_DELIVERY_END)) return (Shortfall.DeliveryWindowPassed, 0);
        uint256 bSlot = _accountSlot(_word(t, W_BUYER));
        uint256 sSlot = _accountSlot(_word(t, W_SELLER));
        uint256 bw;
        uint256 sw;
        assembly ("memory-safe") {
            bw := sload(bSlot)
            sw := sload(sSlot)
        }
        if (!_live(state, _word(t, W_BUYER_ORDER), _word(t, W_BUYER_NONCE), bw >> 192)) {
            return (Shortfall.BuyerOrderSpent, 0);
        }
        if (!_live(state, _word(t, W_SELLER_ORDER), _word(t, W_SELLER_NONCE), sw >> 192)) {
            return (Shortfall.SellerOrderSpent, 0);
        }
        uint256 energy = _word(t, W_ENERGY);
        payment = energy * _word(t, W_PRICE);
        if (uint96(bw) < payment) return (Shortfall.BuyerDeposit, 0);
        uint256 penalty = _penalty(energy, _word(t, W_SELLER_PRICE));
        if (uint96(sw) < penalty || uint96(sw >> 96) + penalty > MAX_AMOUNT) return (Shortfall.SellerCover, 0);
        unchecked {
            bw -= payment;
            sw = sw - penalty + (penalty << 96);
        }
        assembly ("memory-safe") {
            sstore(bSlot, bw)
            sstore(sSlot, sw)
        }
        state[_word(t, W_BUYER_ORDER)] = TRADED;
        state[_word(t, W_SELLER_ORDER)] = TRADED;
        return (Shortfall.None, payment);
    }

    /// @dev An order is live in this settlement when its nonce is at or above the owner's floor before it.
    function _live(uint256[] memory state, uint256 orderIndex, uint256 nonce, uint256 floor)
        private
        pure
        returns (bool)
    {
        uint256 st = state[orderIndex];
        if (st == UNSEEN) {
            st = nonce >= floor ? LIVE : SPENT;
            state[orderIndex] = st;
        }
        return st != SPENT;
    }

    function _raiseFloor(uint256[] memory state, uint256 orderIndex, uint256 owner, uint256 nonce) private {
        if (state[orderIndex] != TRADED) return;
        state[orderIndex] = FLOOR_RAISED;
        uint256 slot = _accountSlot(owner);
        uint256 w;
        assembly ("memory-safe") {
            w := sload(slot)
        }
        if (nonce < w >> 192) return;
        w = (w & FLOOR_CLEAR) | ((nonce + 1) << 192); // NonceExhausted keeps nonce + 1 below 2**64
        assembly ("memory-safe") {
            sstore(slot, w)
        }
    }

    function _accountSlot(uint256 owner) private view returns (uint256 slot) {
        Account storage a = accounts[address(uint160(owner))];
        assembly ("memory-safe") {
            slot := a.slot
        }
    }

    function _word(uint256 t, uint256 index) private pure returns (uint256 w) {
        assembly ("memory-safe") {
            w := calldataload(add(t, shl(5, index)))
        }
    }

    function _requireOpen(uint256 clearingId, uint256 tradeIndex, Trade calldata t, bytes32[] calldata proof)
        private
        view
    {
        ClearingRecord storage c = clearings[clearingId];
        _requireStatus(clearingId, c.status, Status.Settled);
        if (!_verify(proof, c.tradesRoot, _tradeLeaf(clearingId, tradeIndex, t))) {
            revert InvalidProof(clearingId, tradeIndex);
        }
        if (_openTrades[clearingId][tradeIndex >> 8] & (1 << (tradeIndex & 255)) == 0) {
            revert TradeNotOpen(clearingId, tradeIndex);
        }
    }

    function _close(uint256 clearingId, uint256 tradeIndex) private {
        _openTrades[clearingId][tradeIndex >> 8] &= ~(1 << (tradeIndex & 255));
    }

    /// @dev The one place a delivered trade moves money: seller paid pro rata plus its penalty back, the
    /// operator's spread on what was delivered, the rest back to the buyer.
    function _release(uint256 clearingId, uint256 tradeIndex, Trade calldata t, uint64 deliveredWh, Resolution how)
        private
    {
        _close(clearingId, tradeIndex);
        uint256 energy = t.energyWh;
        uint256 delivered = deliveredWh < energy ? deliveredWh : energy;
        uint256 toSeller = delivered * t.sellerPricePerWh;
        uint256 toOperator = delivered * (t.pricePerWh - t.sellerPricePerWh);
        uint256 toBuyer = (energy - delivered) * t.pricePerWh;
        uint256 penalty = _penalty(energy, t.sellerPricePerWh);
        accounts[t.seller].locked -= uint96(penalty);
        escrowed -= energy * t.pricePerWh;
        emit TradeClosed(clearingId, tradeIndex, how, uint64(delivered), toSeller, toOperator, toBuyer);
        _credit(t.seller, clearingId, toSeller + penalty);
        _credit(t.buyer, clearingId, toBuyer);
        _credit(clearings[clearingId].operator, clearingId, toOperator);
    }

    // ---------------------------------------------------------------- internals: money

    function _credit(address account, uint256 clearingId, uint256 amount) private {
        if (amount == 0) return;
        _addFree(account, amount);
        emit Credited(account, clearingId, amount);
    }

    function _addFree(address account, uint256 amount) private {
        Account storage a = accounts[account];
        uint256 free = a.free + amount;
        if (free > MAX_AMOUNT) revert AmountTooLarge(free, MAX_AMOUNT);
        a.free = uint96(free);
    }

    /// @dev Rounds down, as Market does: the one rounding rule for penalties.
    function _penalty(uint256 energyWh, uint256 sellerPricePerWh) private view returns (uint256) {
        return energyWh * sellerPricePerWh * penaltyBps / BPS;
    }

    function _pull(address from, uint256 amount) private {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(from, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert FeeOnTransferToken(amount, received);
    }

    function _requireStatus(uint256 clearingId, Status status, Status required) private pure {
        if (status == Status.None) revert UnknownClearing(clearingId);
        if (status != required) revert WrongClearingStatus(clearingId, status, required);
    }

    // ---------------------------------------------------------------- internals: hashing
    // Leaves and digests are hashed in scratch memory past the free pointer, never allocated: a batch of n
    // trades costs linear, not quadratic, memory.

    /// @dev EIP-712 digest of an order: keccak(0x1901 || separator || keccak(ORDER_TYPEHASH || order's 9 words)).
    function _orderDigest(Order calldata o, bytes32 separator) internal pure returns (bytes32 digest) {
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

    /// @dev keccak(keccak(abi.encode(ORDER_LEAF_TAG, this, clearingId, index, digest, v, r, s))).
    function _orderLeaf(uint256 clearingId, uint256 orderIndex, SignedOrder calldata o, bytes32 separator)
        internal
        view
        returns (bytes32 leaf, bytes32 digest)
    {
        digest = _orderDigest(o.order, separator);
        bytes32 tag = ORDER_LEAF_TAG;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, tag)
            mstore(add(p, 0x20), address())
            mstore(add(p, 0x40), clearingId)
            mstore(add(p, 0x60), orderIndex)
            mstore(add(p, 0x80), digest)
            calldatacopy(add(p, 0xa0), add(o, ORDER_BYTES), 0x60) // v, r, s
            mstore(0x00, keccak256(p, 0x100))
            leaf := keccak256(0x00, 0x20)
        }
    }

    /// @dev keccak(keccak(abi.encode(TRADE_LEAF_TAG, this, clearingId, index, trade))), from the calldata as is.
    function _tradeLeaf(uint256 clearingId, uint256 tradeIndex, Trade calldata t) internal view returns (bytes32 leaf) {
        bytes32 tag = TRADE_LEAF_TAG;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, tag)
            mstore(add(p, 0x20), address())
            mstore(add(p, 0x40), clearingId)
            mstore(add(p, 0x60), tradeIndex)
            calldatacopy(add(p, LEAF_HEADER), t, TRADE_BYTES)
            mstore(0x00, keccak256(p, add(LEAF_HEADER, TRADE_BYTES)))
            leaf := keccak256(0x00, 0x20)
        }
    }

    /// @dev Bottom-up in place; pairs hashed sorted (no position bits in proofs: each leaf names its index);
    /// an odd last node moves up unchanged. v2vchain/merkle.py builds the same tree.
    function _merkleRoot(bytes32[] memory nodes) internal pure returns (bytes32 root) {
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

    function _verify(bytes32[] calldata proof, bytes32 root, bytes32 leaf) private pure returns (bool) {
        bytes32 node = leaf;
        for (uint256 i = 0; i < proof.length; ++i) {
            node = _hashPair(node, proof[i]);
        }
        return node == root;
    }

    function _hashPair(bytes32 a, bytes32 b) private pure returns (bytes32 h) {
        if (a > b) (a, b) = (b, a);
        assembly ("memory-safe") {
            mstore(0x00, a)
            mstore(0x20, b)
            h := keccak256(0x00, 0x40)
        }
    }

    /// @dev ECDSA.recover's rules without reverting: a malformed signature is simply not the owner's.
    function _tryRecover(bytes32 digest, uint8 v, bytes32 r, bytes32 s) internal pure returns (address) {
        if (uint256(s) > HALF_ORDER || (v != 27 && v != 28)) return address(0);
        return ecrecover(digest, v, r, s);
    }
}
