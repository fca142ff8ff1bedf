"""The node's HTTP API: the owner's routes, the peers' routes and the dashboard."""
