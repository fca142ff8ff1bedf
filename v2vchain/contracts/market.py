"""The Market: reverse auctions, their escrow and settlement; the money model is the Vault's (vault.py)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_account.signers.local import LocalAccount
from web3.types import TxReceipt

from v2vchain.protocol import eip712
from v2vchain.protocol.abi_values import bytes32, uint

from .vault import VaultClient

ZERO_ADDRESS = "0x" + "00" * 20


class RequestStatus(IntEnum):
    NONE = 0
    OPEN = 1
    AWARDED = 2
    SETTLED = 3
    EXPIRED = 4
    RECLAIMED = 5
    CONFIRMED = 6  # the buyer confirmed less than the award; a receipt for more may still settle it


class Rejection(IntEnum):
    """Why closeWithSignedBids passed over a relayed bid (IMarket.Rejection): the close itself goes on."""

    EXPIRED = 0
    CANCELLED = 1
    ENERGY_MISMATCH = 2
    BAD_SIGNATURE = 3
    NOT_ACTIVE_SELLER = 4
    SELF_BID = 5
    ZERO_PRICE = 6
    ABOVE_MAX = 7
    INSUFFICIENT_COVER = 8


@dataclass(frozen=True)
class RejectedBid:
    index: int  # position in the list relayed to closeWithSignedBids
    seller: str
    reason: Rejection


@dataclass(frozen=True)
class Request:
    request_id: int
    buyer: str
    max_price_per_wh: int
    energy_wh: int
    deadline_ts: int
    delivery_start_ts: int
    delivery_end_ts: int
    status: RequestStatus
    seller: str | None  # best bidder while open, winner once awarded
    price_per_wh: int
    confirmed_wh: int = 0  # a pending confirmation (status CONFIRMED)

    @property
    def max_escrow(self) -> int:
        return self.energy_wh * self.max_price_per_wh


@dataclass(frozen=True)
class SignedBid:
    """A seller's gasless bid: EIP-712 signed off-chain, relayed on-chain by whoever closes the request."""

    request_id: int
    seller: str
    price_per_wh: int
    energy_wh: int
    nonce: int
    expiry_ts: int
    signature: bytes

    def as_tuple(self) -> tuple[str, int, int, int, int, bytes]:
        return (self.seller, self.price_per_wh, self.energy_wh, self.nonce, self.expiry_ts, self.signature)

    def message(self) -> dict[str, int | str]:
        return {
            "requestId": self.request_id,
            "seller": self.seller,
            "pricePerWh": self.price_per_wh,
            "energyWh": self.energy_wh,
            "nonce": self.nonce,
            "expiry": self.expiry_ts,
        }


class MarketClient(VaultClient):
    def open(
        self,
        *,
        energy_wh: int,
        max_price_per_wh: int,
        deadline_ts: int,
        delivery_start_ts: int,
        delivery_end_ts: int,
        area_id: bytes,
        access_hash: bytes,
        relayer: str | None = None,
    ) -> int:
        """Open a request; `relayer` may close it beside the buyer during the relay period after the deadline."""
        receipt = self._transact(
            "open",
            uint("energy_wh", energy_wh, 64),
            uint("max_price_per_wh", max_price_per_wh, 96),
            uint("deadline_ts", deadline_ts, 40),
            uint("delivery_start_ts", delivery_start_ts, 40),
            uint("delivery_end_ts", delivery_end_ts, 40),
            bytes32("area_id", area_id),
            bytes32("access_hash", access_hash),
            relayer or ZERO_ADDRESS,
        )
        return int(self.events(receipt, "RequestOpened")[0]["args"]["requestId"])

    def bid(self, request_id: int, price_per_wh: int) -> TxReceipt:
        return self._transact("bid", uint("request_id", request_id), uint("price_per_wh", price_per_wh, 96))

    def close(self, request_id: int) -> TxReceipt:
        return self._transact("close", uint("request_id", request_id))

    def close_with_signed_bids(self, request_id: int, bids: list[SignedBid]) -> TxReceipt:
        return self._transact("closeWithSignedBids", uint("request_id", request_id), [b.as_tuple() for b in bids])

    def rejected_bids(self, receipt: TxReceipt) -> list[RejectedBid]:
        """The signed bids a close passed over (SignedBidRejected), in list order."""
        return [
            RejectedBid(
                index=int(e["args"]["index"]),
                seller=str(e["args"]["seller"]),
                reason=Rejection(int(e["args"]["reason"])),
            )
            for e in self.events(receipt, "SignedBidRejected")
        ]

    def cancel_signed_bids(self, new_min_nonce: int) -> TxReceipt:
        """Void every signed bid of the sender with a nonce below `new_min_nonce` (the Vault's nonce floor)."""
        return self.cancel_nonces(new_min_nonce)

    def min_bid_nonce(self, seller: str) -> int:
        return self.nonce_floor(seller)

    def sign_bid(
        self, seller: LocalAccount, *, request_id: int, price_per_wh: int, energy_wh: int, nonce: int, expiry_ts: int
    ) -> SignedBid:
        """Sign a bid bound to this chain, this contract, the request, a nonce and an expiry."""
        bid = SignedBid(
            request_id=uint("request_id", request_id),
            seller=seller.address,
            price_per_wh=uint("price_per_wh", price_per_wh, 96),
            energy_wh=uint("energy_wh", energy_wh, 64),
            nonce=uint("nonce", nonce, 64),
            expiry_ts=uint("expiry_ts", expiry_ts, 40),
            signature=b"",
        )
        signature = eip712.sign(seller, self._domain(), eip712.BID_TYPES, bid.message())
        return SignedBid(**{**bid.__dict__, "signature": signature})

    def _domain(self) -> dict[str, Any]:
        return eip712.domain(eip712.MARKET_DOMAIN, self.chain_id, self.address)

    def confirm_delivery(self, request_id: int, delivered_wh: int) -> TxReceipt:
        return self._transact("confirmDelivery", uint("request_id", request_id), uint("delivered_wh", delivered_wh, 64))

    def claim_with_receipt(self, request_id: int, delivered_wh: int, buyer_signature: bytes) -> TxReceipt:
        return self._transact(
            "claimWithReceipt", uint("request_id", request_id), uint("delivered_wh", delivered_wh, 64), buyer_signature
        )

    def finalize(self, request_id: int) -> TxReceipt:
        return self._transact("finalize", uint("request_id", request_id))

    def reclaim(self, request_id: int) -> TxReceipt:
        return self._transact("reclaim", uint("request_id", request_id))

    def request(self, request_id: int) -> Request:
        buyer, max_price, energy, deadline, start, end, status, confirmed, seller, price = self._call(
            "requests", uint("request_id", request_id)
        )
        return Request(
            request_id=request_id,
            buyer=buyer,
            max_price_per_wh=int(max_price),
            energy_wh=int(energy),
            deadline_ts=int(deadline),
            delivery_start_ts=int(start),
            delivery_end_ts=int(end),
            status=RequestStatus(int(status)),
            seller=None if seller == ZERO_ADDRESS else seller,
            price_per_wh=int(price),
            confirmed_wh=int(confirmed),
        )

    def relayer_of(self, request_id: int) -> str | None:
        relayer = self._call("relayerOf", uint("request_id", request_id))
        return None if relayer == ZERO_ADDRESS else str(relayer)

    def sign_receipt(self, buyer: LocalAccount, *, request_id: int, seller: str, delivered_wh: int) -> bytes:
        """The buyer's meter receipt: lets the seller settle if the buyer never confirms."""
        message = {"requestId": request_id, "seller": seller, "deliveredWh": delivered_wh}
        return eip712.sign(buyer, self._domain(), eip712.RECEIPT_TYPES, message)
