"""Auditing trades from chain data alone: an event indexer into SQLite or PostgreSQL, and the reports built on it.

indexer.py reads logs (rpc.py) and decodes them from each contract's ABI (decode.py) into the store (store.py, on
store_sqlite.py or store_postgres.py);
ledger.py rebuilds the market's books from those events; reports.py, plots.py and htmlreport.py present them;
cli.py is `v2v audit`.
"""
