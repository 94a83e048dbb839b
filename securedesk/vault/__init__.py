"""The vault: envelope encryption (AES-256-GCM), key rotation, keyed blind indexes and crypto-shredding.

``Vault`` is the door: ``seal`` / ``open`` (audited) / ``find`` for vaulted values, ``encrypt_field`` /
``decrypt_field`` for other modules' sensitive columns. ``KeyRotation`` rotates, reports and retires KEK versions.
"""

from securedesk.vault.keys import EnvKeyProvider, KeyProvider, Keyring, LocalKeyFile, key_provider, load_keyring
from securedesk.vault.rotation import KeyRotation, KeyVersionStatus, RotationProgress, RotationResult
from securedesk.vault.values import KINDS, card_brand, normalize
from securedesk.vault.vault import AuditHook, SealRequest, SecretRef, Vault, new_token

__all__ = [
    "KINDS",
    "AuditHook",
    "EnvKeyProvider",
    "KeyProvider",
    "KeyRotation",
    "KeyVersionStatus",
    "Keyring",
    "LocalKeyFile",
    "RotationProgress",
    "RotationResult",
    "SealRequest",
    "SecretRef",
    "Vault",
    "card_brand",
    "key_provider",
    "load_keyring",
    "new_token",
    "normalize",
]
