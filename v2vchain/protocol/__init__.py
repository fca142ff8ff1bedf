"""The wire protocol's cryptography at the machine's speed: EIP-712 hashing and signature recovery."""
