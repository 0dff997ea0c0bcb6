"""Encryption at rest (kube-apiserver's --encryption-provider-config): the configuration file
(config.py, pure), the providers' ciphers (providers.py) and the store's transformer (transformer.py)."""

from .config import EncryptionConfig, EncryptionConfigError, parse_encryption_config
from .transformer import EncryptionTransformer, load_encryption_config

__all__ = [
    "EncryptionConfig",
    "EncryptionConfigError",
    "EncryptionTransformer",
    "load_encryption_config",
    "parse_encryption_config",
]
