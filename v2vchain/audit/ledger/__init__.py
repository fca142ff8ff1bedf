"""Books rebuilt from indexed events alone: one class per contract's share (core, registry, vault, market)."""
