"""The vehicle node service (its features arrive with the node issue)."""
