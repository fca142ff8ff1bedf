"""Chain access: connections, the anvil child, transactions, decoded reverts, the Solidity compiler."""
