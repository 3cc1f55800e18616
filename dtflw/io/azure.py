"""Older import path: `from dtflw.io.azure import AzureStorage` keeps working."""

from dtflw.storage.azure import AzureStorage, init_storage

__all__ = ["AzureStorage", "init_storage"]
