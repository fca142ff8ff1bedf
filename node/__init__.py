"""The vehicle node: one process per vehicle holding its key, its records and its side of every trade, serving its
owner and its peers over HTTP (node/api)."""
