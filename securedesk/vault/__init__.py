"""The vault: envelope encryption (AES-256-GCM), key rotation, keyed blind indexes and crypto-shredding."""
