"""Reads every indexed contract's logs into the Store: bounded ranges, N confirmations, reorgs undone.

Each range [a, b] is fetched as one eth_getLogs for all contracts plus the headers of every block in it; the
headers must chain onto the last stored block (parent hash) and onto each other, and every log must name its
block's hash, or the chain moved under us and the run restarts from the reorg check. Only then is the range written,
in one transaction with the cursor, so a crash or a timeout leaves the index at a range boundary.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from v2vchain.chain.errors import ChainUnavailable
from v2vchain.errors import ConfigError

from .closers import CLOSES, closer_rows
from .decode import ContractSpec, EventDecoder, abi_json
from .errors import ChainMismatch, RangeTooLarge, RpcError, RpcTimeout, UnknownAddress
from .published import CONFIGURED, publication_rows
from .rpc import Header, Log, Node
from .store import EventRow, Store
from .units import DECIMALS_CALL, META_KEY, from_meta, read_token_units, to_meta

TOKEN = "EnergyToken"  # the name the index gives the venues' token, a dev token or an external ERC-20

DEFAULT_BATCH_BLOCKS = 2_000
DEFAULT_CONFIRMATIONS = 6
MAX_RESTARTS = 5


class _ChainMoved(Exception):
    """The chain reorganised while a range was read: start again from the reorg check."""


@dataclass
class IndexReport:
    chain_id: int = 0
    head: int = 0
    final: int = 0  # head minus confirmations: the last block treated as final
    first: int | None = None  # the blocks indexed by this run
    last: int | None = None
    blocks: int = 0
    events: int = 0
    backfilled: int = 0
    reorgs: list[tuple[int, int]] = field(default_factory=list)  # (fork block, events removed)
    seconds: float = 0.0

    @property
    def blocks_per_s(self) -> float:
        return self.blocks / self.seconds if self.seconds else 0.0

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


class Indexer:
    def __init__(
        self,
        store: Store,
        node: Node,
        contracts: Sequence[ContractSpec] = (),
        *,
        batch_blocks: int = DEFAULT_BATCH_BLOCKS,
        confirmations: int = DEFAULT_CONFIRMATIONS,
        max_timeouts: int = 3,
        progress: Callable[[int, int, int], None] | None = None,
    ) -> None:
        if batch_blocks < 1 or confirmations < 0 or max_timeouts < 0:
            raise ConfigError("batch_blocks must be >= 1, confirmations and max_timeouts >= 0")
        self.store = store
        self.node = node
        self.specs = list(contracts)
        self.batch_blocks = batch_blocks
        self.confirmations = confirmations
        self.max_timeouts = max_timeouts
        self.progress = progress
        self._decoders: dict[str, tuple[str, EventDecoder]] = {}
        self._abis: dict[str, list[dict[str, Any]]] = {}
        self._penalty_bps: dict[str, int | None] = {}  # each Clearing's, from its ClearingConfigured log

    def run(self, *, to_block: int | None = None) -> IndexReport:
        """Index every final block not yet indexed (up to to_block if given), undoing reorganised ones first."""
        started = time.perf_counter()
        report = IndexReport(chain_id=self.node.chain_id())
        self.store.bind_chain(report.chain_id)
        head = self.node.head()
        self._register(head)
        self._read_token_units(head)
        for _ in range(MAX_RESTARTS):
            try:
                self._run_once(report, to_block)
                break
            except _ChainMoved:
                continue
        else:
            raise ChainUnavailable(f"the chain reorganised {MAX_RESTARTS} times during one run; try again")
        report.seconds = time.perf_counter() - started
        return report

    # ---------------------------------------------------------------- contracts

    def _register(self, head: int) -> None:
        stored = {c.name: c for c in self.store.contracts()}
        by_address = {c.address: c.name for c in stored.values()}
        for spec in self.specs:
            if spec.name in stored or spec.address in by_address:
                known = stored.get(spec.name)
                if known is None or known.address != spec.address:
                    held = known.address if known else by_address[spec.address]
                    raise ChainMismatch(
                        f"{self.store.path} indexes {spec.name if known else held} at "
                        f"{held if known else spec.address}, but the deployment given has "
                        f"{spec.name} at {spec.address}: pass another --db"
                    )
                continue
            if not self.node.has_code(spec.address, head):
                raise UnknownAddress(
                    f"no contract code at {spec.address} ({spec.name}) on chain "
                    f"{self.store.chain_id}: is the deployment record for this chain?"
                )
            start = self._creation_block(spec, head) if spec.find_creation else spec.start_hint
            self.store.add_contract(spec.name, spec.address, abi_json(spec.abi), start)
        contracts = self.store.contracts()
        if not contracts:
            raise ConfigError("nothing to index: give a deployment (token, registry, market addresses)")
        self._decoders = {c.address: (c.name, EventDecoder(c.abi)) for c in contracts}
        self._abis = {c.address: c.abi for c in contracts}

    def _read_token_units(self, head: int) -> None:
        """The token's decimals and symbol, for every reader of the index to show amounts in; asked again on each
        run until the token gives sane answers (a refusal is kept with its reason, an unreachable node leaves the
        question open)."""
        if from_meta(self.store.meta(META_KEY)).known:
            return
        token = next((c.address for c in self.store.contracts() if c.name == TOKEN), None)
        if token is None:
            return

        def call(data: str) -> str:
            try:
                return self.node.eth_call(token, data, head)
            except RpcError as exc:
                name = "decimals()" if data == DECIMALS_CALL else "symbol()"
                raise ValueError(f"{name} call was refused ({exc})") from None

        try:
            units = read_token_units(call)
        except RpcTimeout:
            return
        self.store.set_meta(META_KEY, to_meta(units))

    def _creation_block(self, spec: ContractSpec, head: int) -> int:
        """The first block with code at the address (binary search); the hint if the node keeps no history."""
        lo, hi = 0, head
        try:
            while lo < hi:
                mid = (lo + hi) // 2
                if self.node.has_code(spec.address, mid):
                    hi = mid
                else:
                    lo = mid + 1
        except (RpcError, RpcTimeout):  # a pruned node answers only for recent state
            return spec.start_hint
        return lo

    # ---------------------------------------------------------------- the loop

    def _run_once(self, report: IndexReport, to_block: int | None) -> None:
        head = self.node.head()
        final = head - self.confirmations if to_block is None else min(to_block, head - self.confirmations)
        report.head, report.final = head, final
        self._undo_reorg(head, report)
        last = self.store.last_block()
        for contract in self.store.contracts():
            if last is not None and contract.indexed_to < last:
                report.backfilled += self._backfill(
                    contract.name, contract.address, max(contract.start_block, contract.indexed_to + 1), last
                )
        if last is None:
            last = min(c.start_block for c in self.store.contracts()) - 1
        names = [c.name for c in self.store.contracts()]
        addresses = list(self._decoders)
        pos, span, timeouts = last + 1, self.batch_blocks, 0
        while pos <= final:
            to = min(pos + span - 1, final)
            try:
                headers = self.node.headers(pos, to)
                logs = self.node.logs(pos, to, addresses)
            except RangeTooLarge as exc:
                if span == 1:
                    raise RangeTooLarge(f"{exc}; even block {pos} alone is too large for this node") from None
                span = max(1, span // 2)
                continue
            except RpcTimeout as exc:
                timeouts += 1
                if span == 1 or timeouts > self.max_timeouts:
                    raise RpcTimeout(
                        f"{exc}; gave up on blocks {pos}..{to} after {timeouts} timeout(s), the range halved to "
                        f"{span} block(s). Every block up to {pos - 1} is indexed and safe: run the indexer again "
                        f"to resume from block {pos}"
                    ) from None
                span = max(1, span // 2)
                continue
            timeouts = 0
            self._check_links(pos, headers, logs)
            report.events += self.store.append(headers, self._rows(logs), to, names)
            report.blocks += len(headers)
            report.first = pos if report.first is None else report.first
            report.last = to
            if self.progress:
                self.progress(to, final, report.events)
            pos, span = to + 1, min(span * 2, self.batch_blocks)

    def _check_links(self, pos: int, headers: list[Header], logs: list[Log]) -> None:
        parent = self.store.block_hash(pos - 1)
        if parent is not None and headers[0].parent_hash != parent:
            raise _ChainMoved()  # block pos-1 as stored is no longer on the chain
        for before, after in zip(headers, headers[1:]):
            if after.parent_hash != before.hash or after.number != before.number + 1:
                raise _ChainMoved()
        hashes = {h.number: h.hash for h in headers}
        if any(hashes.get(log.block_number) != log.block_hash for log in logs):
            raise _ChainMoved()

    def _undo_reorg(self, head: int, report: IndexReport) -> None:
        last = self.store.last_block()
        first = self.store.first_block()
        if last is None or first is None:
            return
        if last <= head and self.node.headers(last, last)[0].hash == self.store.block_hash(last):
            return
        lo, hi = first - 1, min(last, head)  # lo: shared by assumption (before the index began)
        while lo < hi:  # the largest block whose stored hash the chain still has; hashes chain, so this is monotone
            mid = (lo + hi + 1) // 2
            if self.node.headers(mid, mid)[0].hash == self.store.block_hash(mid):
                lo = mid
            else:
                hi = mid - 1
        removed = self.store.rollback(lo, head=head)
        report.reorgs.append((lo, removed))

    def _backfill(self, name: str, address: str, first: int, last: int) -> int:
        """A contract added to an existing index: its logs up to the cursor. Blocks the index already holds are
        checked against their stored hashes; blocks older than the index are read top down, each chunk chained
        onto the one above, and the contract counts as caught up only once all of them are in."""
        oldest = self.store.first_block() or first
        chunks = [
            (max(first, top - self.batch_blocks + 1), top)
            for top in range(min(last, oldest - 1), first - 1, -self.batch_blocks)
        ]
        chunks += [
            (pos, min(pos + self.batch_blocks - 1, last))
            for pos in range(max(first, oldest), last + 1, self.batch_blocks)
        ]
        added = 0
        for pos, to in chunks:
            older = pos < oldest
            headers = self.node.headers(pos, to) if older else []
            if older:
                above = self.store.db.execute("SELECT parent_hash FROM blocks WHERE number = ?", (to + 1,)).fetchone()
                links = zip(headers, headers[1:] + [Header(to + 1, "", above[0] if above else "", 0)])
                if any(upper.parent_hash != lower.hash for lower, upper in links):
                    raise _ChainMoved()
            logs = self.node.logs(pos, to, [address])
            known = {h.number: h.hash for h in headers}
            if any(
                known.get(log.block_number, self.store.block_hash(log.block_number)) != log.block_hash for log in logs
            ):
                raise _ChainMoved()
            added += self.store.backfill(self._rows(logs), None if older else to, name, headers)
        self.store.backfill([], last, name)
        return added

    def _rows(self, logs: list[Log]) -> list[EventRow]:
        rows: list[EventRow] = []
        for log in logs:
            entry = self._decoders.get(log.address)
            if entry is None:
                raise RpcError(f"eth_getLogs returned a log of {log.address}, which was not asked for")
            name, decoder = entry
            event, args = decoder.decode([bytes.fromhex(t[2:]) for t in log.topics], bytes.fromhex(log.data[2:]))
            rows.append(
                (
                    log.block_number,
                    log.block_hash,
                    log.tx_hash,
                    log.tx_index,
                    log.log_index,
                    name,
                    log.address,
                    event,
                    json.dumps(args),
                    json.dumps(list(log.topics)),
                    log.data,
                )
            )
            if event == CONFIGURED:
                self._penalty_bps[log.address] = int(args["penaltyBps"])
            if name == "Market" and event in CLOSES:
                rows += closer_rows(log, name, args, self.node.tx_parties)
            if event == "ClearingCommitted":
                bps = self._bps(log.address, name)
                node = self.node
                rows += publication_rows(log, name, args, self._abis[log.address], node.tx_input, node.tx_parties, bps)
        return rows

    def _bps(self, address: str, name: str) -> int | None:
        """The Clearing's penaltyBps from its construction event: met in this run's logs, or in the index from an
        earlier run. None when the index does not hold it (a backfill reading older blocks top down meets the commit
        first; a Clearing deployed before the event existed never emits it): the ledger then takes the rate from the
        event itself, or leaves free and locked unsplit."""
        if address not in self._penalty_bps:
            stored = next((e for e in self.store.events([CONFIGURED]) if e.contract == name), None)
            self._penalty_bps[address] = None if stored is None else int(stored.args["penaltyBps"])
        return self._penalty_bps[address]
