// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Vault} from "./base/Vault.sol";
import {IMarket} from "./interfaces/IMarket.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";

/// @notice Reverse auctions for energy: a buyer opens a request and escrows energy x its maximum price, sellers
/// underbid each other (on-chain, or signed off-chain and relayed at close), the winner delivers and is paid.
/// Money lives in the Vault: a seller's no-show penalty is locked from its free balance while it holds the best bid
/// or the award, and a penalty never pays the party that triggers it (it goes to the sink).
contract Market is IMarket, Vault {
    uint256 public constant MAX_ENERGY_WH = 1_000_000; // 1 MWh: far above any vehicle battery
    uint256 public constant MAX_SIGNED_BIDS = 16; // bounds the loop in closeWithSignedBids
    bytes32 public constant RECEIPT_TYPEHASH = keccak256("MeterReceipt(uint256 requestId,address seller,uint64 deliveredWh)");
    bytes32 public constant BID_TYPEHASH =
        keccak256("Bid(uint256 requestId,address seller,uint96 pricePerWh,uint64 energyWh,uint64 nonce,uint40 expiry)");

    uint256 public immutable gracePeriod; // after the delivery window: receipts still settle, then reclaim
    uint256 public immutable maxLeadTime; // latest deadline / delivery start, counted from now / the deadline
    uint256 public immutable maxDeliveryWindow;
    uint256 public immutable relayPeriod; // after the deadline, only the buyer (or its relayer) may close

    uint256 public nextRequestId = 1;
    mapping(uint256 => Request) public requests;
    mapping(uint256 => address) public relayerOf;

    constructor(
        address initialOwner,
        IERC20 token_,
        IRegistry registry_,
        uint256 penaltyBps_,
        uint256 gracePeriod_,
        uint256 maxLeadTime_,
        uint256 maxDeliveryWindow_,
        uint256 relayPeriod_
    ) Vault("V2V Market", initialOwner, token_, registry_, penaltyBps_) {
        if (gracePeriod_ == 0 || maxLeadTime_ == 0 || maxDeliveryWindow_ == 0 || relayPeriod_ == 0) revert BadConfig();
        gracePeriod = gracePeriod_;
        maxLeadTime = maxLeadTime_;
        maxDeliveryWindow = maxDeliveryWindow_;
        relayPeriod = relayPeriod_;
        emit MarketConfigured(penaltyBps_, gracePeriod_, maxLeadTime_, maxDeliveryWindow_, relayPeriod_);
    }

    // ---------------------------------------------------------------- auction

    /// @notice Opens a request and escrows energy x maxPrice (free balance first, the rest from the wallet); the
    /// unused part returns at close. `relayer` (or zero) may close beside the buyer during the relay period.
    function open(
        uint64 energyWh,
        uint96 maxPricePerWh,
        uint40 deadline,
        uint40 deliveryStart,
        uint40 deliveryEnd,
        bytes32 areaId,
        bytes32 accessHash,
        address relayer
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
            confirmedWh: 0,
            seller: address(0),
            price: 0
        });
        emit RequestOpened(
            requestId, msg.sender, areaId, energyWh, maxPricePerWh, deadline, deliveryStart, deliveryEnd, accessHash
        );
        if (relayer != address(0) && relayer != msg.sender) {
            relayerOf[requestId] = relayer;
            emit RelayerNamed(requestId, relayer);
        }
        _escrowFromCaller(escrow);
    }

    /// @notice A bid must beat the best so far (ties go to the earlier bid); the bidder's penalty is locked from
    /// its free balance while it holds the best bid.
    function bid(uint256 requestId, uint96 pricePerWh) external whenNotPaused {
        Request storage r = requests[requestId];
        _requireStatus(requestId, r.status, Status.Open);
        uint256 deadline = r.deadline;
        if (block.timestamp >= deadline) revert BiddingClosed(requestId, deadline, block.timestamp);
        registry.requireActive(msg.sender, ROLE_SELLER);
        if (msg.sender == r.buyer) revert SelfBid(requestId, msg.sender);
        if (pricePerWh == 0) revert ZeroPrice();
        if (pricePerWh > r.maxPrice) revert BidAboveMax(pricePerWh, r.maxPrice);
        if (r.seller != address(0) && pricePerWh >= r.price) revert BidNotLower(pricePerWh, r.price);
        _takeBest(r, msg.sender, pricePerWh);
        emit BidPlaced(requestId, msg.sender, pricePerWh);
    }

    /// @notice Close after the deadline with sellers' signed bids (at most MAX_SIGNED_BIDS), best relayed cheapest
    /// first. A bid not below the best so far cannot win and is passed over unchecked (no signature recovered: the
    /// relayer's order decides the gas, never the winner). A bid that could win but fails a rule (signature, nonce
    /// floor, expiry, energy, seller, price, the seller's free cover) is passed over with SignedBidRejected, so one
    /// bad or cancelled bid never stops a close. The lowest valid bid wins (on-chain bids first, then earlier
    /// entries, on ties) and only the winner's penalty is locked.
    function closeWithSignedBids(uint256 requestId, SignedBid[] calldata signedBids) external whenNotPaused {
        if (signedBids.length > MAX_SIGNED_BIDS) revert TooManyBids(signedBids.length, MAX_SIGNED_BIDS);
        Request storage r = _closable(requestId);
        uint256 energy = r.energyWh;
        uint256 winner = type(uint256).max;
        uint96 best = r.seller == address(0) ? type(uint96).max : r.price;
        for (uint256 i = 0; i < signedBids.length; ++i) {
            SignedBid calldata b = signedBids[i];
            if (b.pricePerWh >= best) continue;
            (bool valid, Rejection why) = _checkSignedBid(requestId, r, energy, b);
            if (!valid) {
                emit SignedBidRejected(requestId, i, b.seller, why);
                continue;
            }
            emit SignedBidVerified(requestId, b.seller, b.pricePerWh, b.nonce);
            best = b.pricePerWh;
            winner = i;
        }
        if (winner != type(uint256).max) _takeBest(r, signedBids[winner].seller, best);
        _close(requestId, r);
    }

    /// @notice Close after the deadline with the on-chain best bid (the buyer or its relayer during the relay
    /// period, anyone after it): award it, or expire and refund.
    function close(uint256 requestId) external {
        _close(requestId, _closable(requestId));
    }

    // ---------------------------------------------------------------- settlement

    /// @notice The buyer states what its meter delivered. The whole award settles at once; less waits until the
    /// window's end plus grace, during which the seller may settle with a receipt the buyer signed for more.
    function confirmDelivery(uint256 requestId, uint64 deliveredWh) external nonReentrant {
        Request storage r = requests[requestId];
        _requireStatus(requestId, r.status, Status.Awarded);
        if (msg.sender != r.buyer) revert NotBuyer(msg.sender, r.buyer);
        uint256 finalFrom = uint256(r.deliveryEnd) + gracePeriod;
        if (deliveredWh >= r.energyWh || block.timestamp >= finalFrom) {
            _settle(requestId, r, deliveredWh);
            return;
        }
        r.status = Status.Confirmed;
        r.confirmedWh = deliveredWh;
        emit DeliveryConfirmed(requestId, deliveredWh, finalFrom);
    }

    /// @notice The seller settles with a meter receipt the buyer signed at delivery; a receipt binds the buyer,
    /// so it overrides a lower confirmation.
    function claimWithReceipt(uint256 requestId, uint64 deliveredWh, bytes calldata buyerSig) external nonReentrant {
        Request storage r = requests[requestId];
        Status status = r.status;
        if (status != Status.Confirmed) _requireStatus(requestId, status, Status.Awarded);
        if (msg.sender != r.seller) revert NotSeller(msg.sender, r.seller);
        if (block.timestamp < r.deliveryStart) revert TooEarly(block.timestamp, r.deliveryStart);
        if (status == Status.Confirmed && deliveredWh <= r.confirmedWh) {
            revert ReceiptNotAboveConfirmation(requestId, deliveredWh, r.confirmedWh);
        }
        address signer = _signer(receiptDigest(requestId, msg.sender, deliveredWh), buyerSig);
        if (signer != r.buyer) revert NotSignedByBuyer(signer, r.buyer);
        _settle(requestId, r, deliveredWh);
    }

    /// @notice Anyone, after the window's end plus grace: a pending confirmation settles at the buyer's figure.
    function finalize(uint256 requestId) external nonReentrant {
        Request storage r = requests[requestId];
        _requireStatus(requestId, r.status, Status.Confirmed);
        _requireAfterGrace(r);
        _settle(requestId, r, r.confirmedWh);
    }

    /// @notice Anyone, when nothing was confirmed or claimed by the window's end plus grace: the buyer gets its
    /// payment back and the seller's penalty goes to the sink, so a false "nothing delivered" never pays.
    function reclaim(uint256 requestId) external nonReentrant {
        Request storage r = requests[requestId];
        _requireStatus(requestId, r.status, Status.Awarded);
        _requireAfterGrace(r);
        r.status = Status.Reclaimed;
        uint256 energy = r.energyWh;
        uint256 payment = energy * r.price;
        uint256 penalty = _penalty(energy, r.price);
        emit Reclaimed(requestId, payment, penalty);
        _release(payment);
        _forfeit(r.seller, requestId, penalty);
        _credit(r.buyer, requestId, payment);
    }

    // ---------------------------------------------------------------- views

    function bidDigest(uint256 requestId, address seller, uint96 pricePerWh, uint64 energyWh, uint64 nonce, uint40 expiry)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(BID_TYPEHASH, requestId, seller, pricePerWh, energyWh, nonce, expiry)));
    }

    function receiptDigest(uint256 requestId, address seller, uint64 deliveredWh) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(RECEIPT_TYPEHASH, requestId, seller, deliveredWh)));
    }

    // ---------------------------------------------------------------- internals

    /// @dev An open request past its deadline, closable by the caller now; a best bidder that lost its credential
    /// since it bid is dropped here, so close never awards a revoked seller.
    function _closable(uint256 requestId) private returns (Request storage r) {
        r = requests[requestId];
        _requireStatus(requestId, r.status, Status.Open);
        uint256 deadline = r.deadline;
        if (block.timestamp < deadline) revert BiddingStillOpen(requestId, deadline, block.timestamp);
        if (block.timestamp < deadline + relayPeriod && msg.sender != r.buyer && msg.sender != relayerOf[requestId]) {
            revert RelayPeriod(requestId, msg.sender, deadline + relayPeriod);
        }
        address best = r.seller;
        if (best != address(0) && !registry.isActive(best, ROLE_SELLER)) {
            _unlock(best, _penalty(r.energyWh, r.price));
            r.seller = address(0);
            r.price = 0;
            emit BidDisqualified(requestId, best);
        }
    }

    /// @dev Every rule an on-chain bid meets, plus the signature, nonce floor, expiry and the cover its penalty
    /// needs should it win.
    function _checkSignedBid(uint256 requestId, Request storage r, uint256 energy, SignedBid calldata b)
        private
        view
        returns (bool, Rejection)
    {
        if (block.timestamp > b.expiry) return (false, Rejection.Expired);
        Account storage a = accounts[b.seller];
        if (b.nonce < a.nonceFloor) return (false, Rejection.Cancelled);
        if (b.energyWh != energy) return (false, Rejection.EnergyMismatch);
        bytes32 digest = bidDigest(requestId, b.seller, b.pricePerWh, b.energyWh, b.nonce, b.expiry);
        address signer = _signer(digest, b.signature);
        if (signer != b.seller || signer == address(0)) return (false, Rejection.BadSignature);
        if (!registry.isActive(b.seller, ROLE_SELLER)) return (false, Rejection.NotActiveSeller);
        if (b.seller == r.buyer) return (false, Rejection.SelfBid);
        if (b.pricePerWh == 0) return (false, Rejection.ZeroPrice);
        if (b.pricePerWh > r.maxPrice) return (false, Rejection.AboveMax);
        uint256 cover = energy * b.pricePerWh * penaltyBps / BPS;
        if ((cover == 0 && penaltyBps != 0) || a.free < cover) return (false, Rejection.InsufficientCover);
        return (true, Rejection.Expired);
    }

    /// @dev The one place the best bid changes hands: the displaced bidder's penalty unlocked, the new one locked.
    function _takeBest(Request storage r, address seller, uint96 pricePerWh) private {
        uint256 energy = r.energyWh;
        address previous = r.seller;
        if (previous != address(0)) _unlock(previous, _penalty(energy, r.price));
        _lock(seller, _penalty(energy, pricePerWh));
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
            _release(refund);
            _credit(buyer, requestId, refund);
            return;
        }
        r.status = Status.Awarded;
        uint96 price = r.price;
        emit Awarded(requestId, seller, price, energy * price, _penalty(energy, price));
        uint256 unused = energy * (r.maxPrice - price);
        _release(unused);
        _credit(buyer, requestId, unused);
    }

    /// @dev The one place a delivery moves money: paid to the seller, the rest back to the buyer, penalty unlocked.
    function _settle(uint256 requestId, Request storage r, uint64 deliveredWh) private {
        r.status = Status.Settled;
        uint256 energy = r.energyWh;
        uint256 delivered = deliveredWh < energy ? deliveredWh : energy;
        uint96 price = r.price;
        uint256 paid = delivered * price;
        uint256 refund = (energy - delivered) * price;
        address seller = r.seller;
        emit Settled(requestId, msg.sender, uint64(delivered), paid, refund);
        _unlock(seller, _penalty(energy, price));
        _release(paid + refund);
        _credit(seller, requestId, paid);
        _credit(r.buyer, requestId, refund);
    }

    function _requireAfterGrace(Request storage r) private view {
        uint256 allowedFrom = uint256(r.deliveryEnd) + gracePeriod;
        if (block.timestamp < allowedFrom) revert TooEarly(block.timestamp, allowedFrom);
    }

    function _requireStatus(uint256 requestId, Status status, Status required) private pure {
        if (status == Status.None) revert UnknownRequest(requestId);
        if (status != required) revert WrongStatus(requestId, status, required);
    }
}
