"""socketlab inspector: capture loopback traffic and show ciphertext next to plaintext."""
