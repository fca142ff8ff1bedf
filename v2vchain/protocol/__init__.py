"""What the contracts define, mirrored once in pure Python: typed data, signatures, area ids, Merkle trees."""
