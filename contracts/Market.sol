// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ECDSA} from "./lib/ECDSA.sol";
import {EIP712} from "./lib/EIP712.sol";
import {IERC20} from "./lib/IERC20.sol";
import {Owned2Step} from "./lib/Owned2Step.sol";
import {ReentrancyGuard} from "./lib/ReentrancyGuard.sol";
import {SafeTransfer} from "./lib/SafeTransfer.sol";

interface IRegistry {
    function requireActive(address vehicle, uint8 role) external view;
}

/// @notice Reverse auctions for energy, their escrow and settlement, and sellers' no-show stakes.
/// All the market's money lives here, so one contract's books must balance:
/// token balance >= open escrows + stakes + credits waiting to be withdrawn.
contract Market is EIP712, Owned2Step, ReentrancyGuard {
    using SafeTransfer for IERC20;

    error UnknownRequest(uint256 requestId);
    error WrongStatus(uint256 requestId, Status status, Status required);
    error EnergyOutOfRange(uint256 energyWh, uint256 maxEnergyWh);
    error ZeroPrice();
    error AmountTooLarge(uint256 amount, uint256 max);
    error BadDeadline(uint256 deadline, uint256 nowTs, uint256 latest);
    error BadDeliveryWindow(uint256 start, uint256 end);
    error BiddingClosed(uint256 requestId, uint256 deadline, uint256 nowTs);
    error BiddingStillOpen(uint256 requestId, uint256 deadline, uint256 nowTs);
    error SelfBid(uint256 requestId, address buyer);
    error BidAboveMax(uint256 price, uint256 maxPrice);
    error BidNotLower(uint256 price, uint256 bestPrice);
    error InsufficientFreeStake(address seller, uint256 free, uint256 needed);
    error NotBuyer(address caller, address buyer);
    error NotSeller(address caller, address seller);
    error TooEarly(uint256 nowTs, uint256 allowedFrom);
    error NotSignedByBuyer(address signer, address buyer);
    error ZeroAmount();
    error NothingToWithdraw(address account);
    error FeeOnTransferToken(uint256 expected, uint256 received);
    error MarketPaused();
    error BadConfig();
    error TooManyBids(uint256 count, uint256 max);
    error SignedBidExpired(uint256 index, uint256 expiry, uint256 nowTs);
    error SignedBidCancelled(uint256 index, uint256 nonce, uint256 minNonce);
    error SignedBidEnergyMismatch(uint256 index, uint256 energyWh, uint256 requested);
    error SignedBidNotBySeller(uint256 index, address signer, address seller);

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
    event BidPlaced(uint256 indexed requestId, address indexed seller, uint96 pricePerWh);
    event Awarded(uint256 indexed requestId, address indexed seller, uint96 pricePerWh, uint256 payment, uint256 penalty);
    event Expired(uint256 indexed requestId, uint256 refund);
    event Settled(uint256 indexed requestId, address indexed settledBy, uint64 deliveredWh, uint256 paid, uint256 refund);
    event Reclaimed(uint256 indexed requestId, uint256 refund, uint256 penalty);
    event StakeDeposited(address indexed seller, uint256 amount);
    event StakeWithdrawn(address indexed seller, uint256 amount);
    event Credited(address indexed account, uint256 indexed requestId, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event PausedSet(bool paused);
    event SignedBidVerified(uint256 indexed requestId, address indexed seller, uint96 pricePerWh, uint64 nonce);
    event BidNoncesCancelled(address indexed seller, uint64 minNonce);

    enum Status {
        None,
        Open,
        Awarded,
        Settled,
        Expired,
        Reclaimed
    }

    /// @dev Three slots. Bids other than the best live only in BidPlaced events.
    struct Request {
        address buyer;
        uint96 maxPrice; // token units per Wh
        uint64 energyWh;
        uint40 deadline;
        uint40 deliveryStart;
        uint40 deliveryEnd;
        Status status;
        address seller; // best bidder until close, then the winner
        uint96 price; // best price until close, then the awarded price
    }

    struct Stake {
        uint128 total;
        uint128 locked; // penalties reserved for the requests where this seller holds the best bid or the award
    }

    uint8 private constant ROLE_BUYER = 1;
    uint8 private constant ROLE_SELLER = 2;
    uint256 public constant MAX_ENERGY_WH = 1_000_000; // 1 MWh: far above any vehicle battery
    uint256 public constant MAX_AMOUNT = type(uint96).max;
    uint256 private constant BPS = 10_000;
    bytes32 public constant RECEIPT_TYPEHASH =
        keccak256("MeterReceipt(uint256 requestId,address seller,uint64 deliveredWh)");
    bytes32 public constant BID_TYPEHASH =
        keccak256("Bid(uint256 requestId,address seller,uint96 pricePerWh,uint64 energyWh,uint64 nonce,uint40 expiry)");
    uint256 public constant MAX_SIGNED_BIDS = 16; // bounds the loop in closeWithSignedBids

    /// @notice A seller's off-chain bid, relayed by the buyer (or anyone) at close: the seller pays no gas
    /// and rivals cannot see it in the mempool before the deadline.
    struct SignedBid {
        address seller;
        uint96 pricePerWh;
        uint64 energyWh;
        uint64 nonce;
        uint40 expiry;
        bytes signature;
    }

    IERC20 public immutable token;
    IRegistry public immutable registry;
    uint256 public immutable penaltyBps;
    uint256 public immutable gracePeriod;
    uint256 public immutable maxLeadTime; // latest deadline / delivery start, counted from now / the deadline
    uint256 public immutable maxDeliveryWindow;

    bool public paused;
    uint256 public nextRequestId = 1;
    mapping(uint256 => Request) public requests;
    mapping(address => Stake) public stakes;
    mapping(address => uint256) public credit;
    mapping(address => uint64) public minBidNonce; // signed bids below it are cancelled

    constructor(
        address initialAdmin,
        IERC20 token_,
        IRegistry registry_,
        uint256 penaltyBps_,
        uint256 gracePeriod_,
        uint256 maxLeadTime_,
        uint256 maxDeliveryWindow_
    ) EIP712("V2V Market", "1") Owned2Step(initialAdmin) {
        if (address(token_) == address(0) || address(registry_) == address(0)) revert ZeroAddress();
        if (penaltyBps_ > BPS || maxLeadTime_ == 0 || maxDeliveryWindow_ == 0) revert BadConfig();
        token = token_;
        registry = registry_;
        penaltyBps = penaltyBps_;
        gracePeriod = gracePeriod_;
        maxLeadTime = maxLeadTime_;
        maxDeliveryWindow = maxDeliveryWindow_;
    }

    modifier whenNotPaused() {
        if (paused) revert MarketPaused();
        _;
    }

    /// @notice Pausing stops new requests and bids (on-chain or relayed signed ones) only; `close`, settlement
    /// and every withdrawal keep working.
    function setPaused(bool paused_) external onlyAdmin {
        paused = paused_;
        emit PausedSet(paused_);
    }

    // ---------------------------------------------------------------- auction

    /// @notice Opens a request and escrows energy x maxPrice; the unused part returns at close.
    function open(
        uint64 energyWh,
        uint96 maxPricePerWh,
        uint40 deadline,
        uint40 deliveryStart,
        uint40 deliveryEnd,
        bytes32 areaId,
        bytes32 accessHash
    ) external nonReentrant whenNotPaused returns (uint256 requestId) {
        registry.requireActive(msg.sender, ROLE_BUYER);
        if (energyWh == 0 || energyWh > MAX_ENERGY_WH) revert EnergyOutOfRange(energyWh, MAX_ENERGY_WH);
        if (maxPricePerWh == 0) revert ZeroPrice();
        uint256 escrow = uint256(energyWh) * maxPricePerWh;
        if (escrow > MAX_AMOUNT) revert AmountTooLarge(escrow, MAX_AMOUNT);
        if (deadline <= block.timestamp || deadline > block.timestamp + maxLeadTime) {
            revert BadDeadline(deadline, block.timestamp, block.timestamp + maxLeadTime);
        }
        if (
            deliveryStart < deadline || deliveryEnd <= deliveryStart || deliveryStart > uint256(deadline) + maxLeadTime
                || deliveryEnd - deliveryStart > maxDeliveryWindow
        ) revert BadDeliveryWindow(deliveryStart, deliveryEnd);

        requestId = nextRequestId++;
        requests[requestId] = Request({
            buyer: msg.sender,
            maxPrice: maxPricePerWh,
            energyWh: energyWh,
            deadline: deadline,
            deliveryStart: deliveryStart,
            deliveryEnd: deliveryEnd,
            status: Status.Open,
            seller: address(0),
            price: 0
        });
        emit RequestOpened(
            requestId, msg.sender, areaId, energyWh, maxPricePerWh, deadline, deliveryStart, deliveryEnd, accessHash
        );
        _pull(msg.sender, escrow);
    }

    /// @notice A bid must beat the best so far (ties go to the earlier bid); the bidder's stake covering the
    /// no-show penalty is locked while it holds the best bid.
    function bid(uint256 requestId, uint96 pricePerWh) external whenNotPaused {
        Request storage r = requests[requestId];
        _requireStatus(requestId, r.status, Status.Open);
        uint256 deadline = r.deadline;
        if (block.timestamp >= deadline) revert BiddingClosed(requestId, deadline, block.timestamp);
        _checkBid(requestId, r, msg.sender, pricePerWh);
        if (r.seller != address(0) && pricePerWh >= r.price) revert BidNotLower(pricePerWh, r.price);
        _takeBest(r, msg.sender, pricePerWh);
        emit BidPlaced(requestId, msg.sender, pricePerWh);
    }

    /// @notice Raise the floor of valid signed-bid nonces: every outstanding signed bid below it is void.
    function cancelSignedBids(uint64 newMinNonce) external {
        if (newMinNonce <= minBidNonce[msg.sender]) revert SignedBidCancelled(0, newMinNonce, minBidNonce[msg.sender]);
        minBidNonce[msg.sender] = newMinNonce;
        emit BidNoncesCancelled(msg.sender, newMinNonce);
    }

    /// @notice Close after the deadline with sellers' signed bids (at most MAX_SIGNED_BIDS). Every bid is
    /// verified like an on-chain bid plus its signature, nonce and expiry; any invalid one reverts the call with
    /// its index, so the relayer drops it and retries. The lowest (earliest on ties, on-chain bids first) wins,
    /// and only the winner's stake is locked.
    function closeWithSignedBids(uint256 requestId, SignedBid[] calldata signedBids) external whenNotPaused {
        if (signedBids.length > MAX_SIGNED_BIDS) revert TooManyBids(signedBids.length, MAX_SIGNED_BIDS);
        Request storage r = requests[requestId];
        _requireStatus(requestId, r.status, Status.Open);
        if (block.timestamp < r.deadline) revert BiddingStillOpen(requestId, r.deadline, block.timestamp);
        uint256 energy = r.energyWh;
        uint256 winner = type(uint256).max;
        uint96 best = r.seller == address(0) ? type(uint96).max : r.price;
        for (uint256 i = 0; i < signedBids.length; ++i) {
            SignedBid calldata b = signedBids[i];
            if (block.timestamp > b.expiry) revert SignedBidExpired(i, b.expiry, block.timestamp);
            if (b.nonce < minBidNonce[b.seller]) revert SignedBidCancelled(i, b.nonce, minBidNonce[b.seller]);
            if (b.energyWh != energy) revert SignedBidEnergyMismatch(i, b.energyWh, energy);
            bytes32 digest = bidDigest(requestId, b.seller, b.pricePerWh, b.energyWh, b.nonce, b.expiry);
            address signer = ECDSA.recover(digest, b.signature);
            if (signer != b.seller) revert SignedBidNotBySeller(i, signer, b.seller);
            _checkBid(requestId, r, b.seller, b.pricePerWh);
            emit SignedBidVerified(requestId, b.seller, b.pricePerWh, b.nonce);
            if (b.pricePerWh < best) {
                best = b.pricePerWh;
                winner = i;
            }
        }
        if (winner != type(uint256).max) _takeBest(r, signedBids[winner].seller, best);
        _close(requestId, r);
    }

    /// @notice Anyone may close after the deadline: the best bid wins, or the request expires and refunds.
    function close(uint256 requestId) external {
        Request storage r = requests[requestId];
        _requireStatus(requestId, r.status, Status.Open);
        if (block.timestamp < r.deadline) revert BiddingStillOpen(requestId, r.deadline, block.timestamp);
        _close(requestId, r);
    }

    // ---------------------------------------------------------------- settlement

    /// @notice The buyer states what its meter delivered; payment is pro-rata, capped at the award.
    function confirmDelivery(uint256 requestId, uint64 deliveredWh) external nonReentrant {
        Request storage r = requests[requestId];
        _requireStatus(requestId, r.status, Status.Awarded);
        if (msg.sender != r.buyer) revert NotBuyer(msg.sender, r.buyer);
        _settle(requestId, r, deliveredWh);
    }

    /// @notice The seller settles without the buyer, with a meter receipt the buyer signed at delivery.
    function claimWithReceipt(uint256 requestId, uint64 deliveredWh, bytes calldata buyerSig) external nonReentrant {
        Request storage r = requests[requestId];
        _requireStatus(requestId, r.status, Status.Awarded);
        if (msg.sender != r.seller) revert NotSeller(msg.sender, r.seller);
        if (block.timestamp < r.deliveryStart) revert TooEarly(block.timestamp, r.deliveryStart);
        address signer = ECDSA.recover(receiptDigest(requestId, msg.sender, deliveredWh), buyerSig);
        if (signer != r.buyer) revert NotSignedByBuyer(signer, r.buyer);
        _settle(requestId, r, deliveredWh);
    }

    /// @notice Nothing delivered or confirmed by the window's end plus grace: the buyer takes back the escrow
    /// and the seller's penalty.
    function reclaim(uint256 requestId) external nonReentrant {
        Request storage r = requests[requestId];
        _requireStatus(requestId, r.status, Status.Awarded);
        if (msg.sender != r.buyer) revert NotBuyer(msg.sender, r.buyer);
        uint256 allowedFrom = uint256(r.deliveryEnd) + gracePeriod;
        if (block.timestamp < allowedFrom) revert TooEarly(block.timestamp, allowedFrom);
        r.status = Status.Reclaimed;
        uint256 energy = r.energyWh;
        uint256 payment = energy * r.price;
        uint256 penalty = _penalty(energy, r.price);
        Stake storage s = stakes[r.seller];
        s.locked -= uint128(penalty);
        s.total -= uint128(penalty);
        emit Reclaimed(requestId, payment, penalty);
        _credit(msg.sender, requestId, payment + penalty);
    }

    // ---------------------------------------------------------------- stake and withdrawals

    function depositStake(uint256 amount) external nonReentrant {
        registry.requireActive(msg.sender, ROLE_SELLER);
        if (amount == 0) revert ZeroAmount();
        Stake storage s = stakes[msg.sender];
        uint256 total = s.total + amount;
        if (total > MAX_AMOUNT) revert AmountTooLarge(total, MAX_AMOUNT);
        s.total = uint128(total);
        emit StakeDeposited(msg.sender, amount);
        _pull(msg.sender, amount);
    }

    /// @notice Works for revoked sellers and while paused: a seller's free stake is always its own.
    function withdrawStake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Stake storage s = stakes[msg.sender];
        uint256 free = s.total - s.locked;
        if (amount > free) revert InsufficientFreeStake(msg.sender, free, amount);
        s.total -= uint128(amount);
        emit StakeWithdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice Pull payment: everything credited to the caller, in one transfer.
    function withdraw() external nonReentrant {
        uint256 amount = credit[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        credit[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- views

    function bidDigest(uint256 requestId, address seller, uint96 pricePerWh, uint64 energyWh, uint64 nonce, uint40 expiry)
        public
        view
        returns (bytes32)
    {
        return _hashTypedData(keccak256(abi.encode(BID_TYPEHASH, requestId, seller, pricePerWh, energyWh, nonce, expiry)));
    }

    function receiptDigest(uint256 requestId, address seller, uint64 deliveredWh) public view returns (bytes32) {
        return _hashTypedData(keccak256(abi.encode(RECEIPT_TYPEHASH, requestId, seller, deliveredWh)));
    }

    function penaltyFor(uint256 energyWh, uint256 pricePerWh) external view returns (uint256) {
        return _penalty(energyWh, pricePerWh);
    }

    // ---------------------------------------------------------------- internals

    /// @dev What every bid, on-chain or signed, must be: by a registered seller other than the buyer, non-zero,
    /// at or below the maximum.
    function _checkBid(uint256 requestId, Request storage r, address seller, uint96 pricePerWh) private view {
        registry.requireActive(seller, ROLE_SELLER);
        if (seller == r.buyer) revert SelfBid(requestId, seller);
        if (pricePerWh == 0) revert ZeroPrice();
        if (pricePerWh > r.maxPrice) revert BidAboveMax(pricePerWh, r.maxPrice);
    }

    /// @dev The one place the best bid changes hands: the displaced bidder's penalty is unlocked, the new one locked.
    function _takeBest(Request storage r, address seller, uint96 pricePerWh) private {
        uint256 energy = r.energyWh;
        address previous = r.seller;
        if (previous != address(0)) stakes[previous].locked -= uint128(_penalty(energy, r.price));
        Stake storage s = stakes[seller];
        uint256 needed = _penalty(energy, pricePerWh);
        uint256 free = s.total - s.locked;
        if (free < needed) revert InsufficientFreeStake(seller, free, needed);
        s.locked += uint128(needed);
        r.seller = seller;
        r.price = pricePerWh;
    }

    /// @dev Award the best bid (the rest of the escrow back to the buyer), or expire with a full refund.
    function _close(uint256 requestId, Request storage r) private {
        uint256 energy = r.energyWh;
        address buyer = r.buyer;
        address seller = r.seller;
        if (seller == address(0)) {
            r.status = Status.Expired;
            uint256 refund = energy * r.maxPrice;
            emit Expired(requestId, refund);
            _credit(buyer, requestId, refund);
            return;
        }
        r.status = Status.Awarded;
        uint96 price = r.price;
        emit Awarded(requestId, seller, price, energy * price, _penalty(energy, price));
        _credit(buyer, requestId, energy * (r.maxPrice - price));
    }

    /// @dev The one place a settlement moves money: paid to the seller, the rest back to the buyer, stake unlocked.
    function _settle(uint256 requestId, Request storage r, uint64 deliveredWh) private {
        r.status = Status.Settled;
        uint256 energy = r.energyWh;
        uint256 delivered = deliveredWh < energy ? deliveredWh : energy;
        uint96 price = r.price;
        uint256 paid = delivered * price;
        uint256 refund = (energy - delivered) * price;
        address seller = r.seller;
        stakes[seller].locked -= uint128(_penalty(energy, price));
        emit Settled(requestId, msg.sender, uint64(delivered), paid, refund);
        _credit(seller, requestId, paid);
        _credit(r.buyer, requestId, refund);
    }

    function _credit(address account, uint256 requestId, uint256 amount) private {
        if (amount == 0) return;
        credit[account] += amount;
        emit Credited(account, requestId, amount);
    }

    /// @dev Rounds down: the one rounding rule for penalties.
    function _penalty(uint256 energyWh, uint256 pricePerWh) private view returns (uint256) {
        return energyWh * pricePerWh * penaltyBps / BPS;
    }

    function _requireStatus(uint256 requestId, Status status, Status required) private pure {
        if (status == Status.None) revert UnknownRequest(requestId);
        if (status != required) revert WrongStatus(requestId, status, required);
    }

    /// @dev Measures what arrived, so a fee-on-transfer token cannot leave the books short.
    function _pull(address from, uint256 amount) private {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(from, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert FeeOnTransferToken(amount, received);
    }
}
