"""Auditing trades from chain data alone: an event indexer into SQLite, and the reports built on it.

indexer.py reads logs (rpc.py) and decodes them from each contract's ABI (decode.py) into the store (store.py);
ledger/ rebuilds the market's books from those events; reports.py, plots.py and htmlreport.py present them;
cli.py is `v2v audit`.
"""
