"""The `v2v` command: one module per command group, every command behind one error decorator."""
