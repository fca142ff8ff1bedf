"""Auditing trades from chain data alone: an event indexer into SQLite or PostgreSQL, and the answers built on it.

indexer.py reads logs (rpc.py) and decodes them from each contract's ABI (decode.py) into the store (store.py, on
store_sqlite.py or store_postgres.py); ledger/ rebuilds the books from those events; trades.py, statement.py,
reconcile.py and render.py answer from them; plots.py and htmlreport.py draw the report; the command is
v2vchain/cli/audit.py.
"""
