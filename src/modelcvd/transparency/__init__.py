"""The transparency log: an RFC 9162 Merkle log of what the platform published, with signed
tree heads, so anyone can check that the registry's history is append-only."""
