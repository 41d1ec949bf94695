"""Cross-channel marketing automation for Django shops."""

__version__ = "0.1.0"
