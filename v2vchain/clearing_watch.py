"""A vehicle's watch over the clearings: any committed clearing that uses an order in its name which it did not sign
is challenged inside the window, which voids the clearing and pays the operator's bond to the watcher.

This is what makes optimistic settlement safe for the vehicle: it need not trust the operator, only run this
(the node does, or `v2v audit watch`) at least once per challenge window.
"""
from __future__ import annotations

from dataclasses import dataclass

from .contracts.clearing import ClearingClient, ClearingDataUnavailable, ClearingStatus
from .errors import ContractRevert


@dataclass(frozen=True)
class WatchFinding:
    clearing_id: int
    order_index: int
    challenged: bool
    outcome: str


def watch(client: ClearingClient, owner: str, *, from_block: int = 0) -> list[WatchFinding]:
    """Check every clearing still in its challenge window for forged orders in `owner`'s name; challenge each."""
    findings = []
    now = int(client.contract.w3.eth.get_block("latest")["timestamp"])
    for clearing_id in range(1, client.next_clearing_id()):
        info = client.clearing(clearing_id)
        if info.status != ClearingStatus.COMMITTED or now >= info.challenge_deadline_ts:
            continue
        try:
            published = client.published(clearing_id, from_block=from_block)
        except ClearingDataUnavailable:
            continue
        forged = [k for k in client.bad_signatures(published)
                  if published.orders[k].order.owner.lower() == owner.lower()]
        for k in forged[:1]:  # one proof voids the whole clearing
            try:
                client.challenge(published, k)
                findings.append(WatchFinding(clearing_id, k, True, "challenged: clearing voided, bond paid to us"))
            except ContractRevert as exc:
                findings.append(WatchFinding(clearing_id, k, False, f"challenge refused: {exc.name}"))
    return findings
