"""v2vchain: vehicle-to-vehicle energy trading on an EVM chain."""
