"""AzureStorage: tables in an Azure Storage container (`wasbs://` Blob or `abfss://` ADLS Gen2)."""

from __future__ import annotations

import re
from typing import Any

import dtflw.databricks as db
from dtflw.errors import InvalidArgumentError
from dtflw.storage.dbutils_fs import DbutilsFsStorage

_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
_CONTAINER = re.compile(r"^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$")
PROTOCOL_HOSTS = {"wasbs": "blob", "abfss": "dfs"}


def validate_account_name(name: object) -> str:
    """Azure rule: 3-24 lowercase letters and digits."""
    if not isinstance(name, str) or not _ACCOUNT.match(name):
        raise InvalidArgumentError(
            f"Azure storage account name {name!r} is invalid: expected 3-24 lowercase letters or digits."
        )
    return name


def validate_container_name(name: object) -> str:
    """Azure rule: 3-63 chars of lowercase letters, digits and single hyphens, not at the ends."""
    if not isinstance(name, str) or not _CONTAINER.match(name):
        raise InvalidArgumentError(
            f"Azure container name {name!r} is invalid: expected 3-63 lowercase letters, digits and "
            "single hyphens, starting and ending with a letter or digit."
        )
    return name


class AzureStorage(DbutilsFsStorage):
    """Tables under `<protocol>://<container>@<account>.<blob|dfs>.core.windows.net/<root_dir>/`.

    `protocol` defaults to "wasbs", the 0.6.x path form, so derived paths do not change.
    """

    def __init__(self, account_name: str, container_name: str, root_dir: str | None = "",
                 spark: Any = None, dbutils: Any = None, protocol: str = "wasbs",
                 format: str = "parquet") -> None:
        self.account_name = validate_account_name(account_name)
        self.container_name = validate_container_name(container_name)
        if protocol not in PROTOCOL_HOSTS:
            raise InvalidArgumentError(f"Azure protocol {protocol!r} is invalid: expected 'abfss' or 'wasbs'.")
        self.protocol = protocol
        super().__init__(root_dir, spark=spark, dbutils=dbutils, format=format)

    @property
    def scheme(self) -> str:  # type: ignore[override]
        return self.protocol

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> "AzureStorage":
        """`abfss://<container>@<account>.dfs.core.windows.net/<root_dir>` (or wasbs, blob)."""
        m = re.match(r"^(abfss|wasbs)://([^@/]+)@([^./]+)\.(?:dfs|blob)\.core\.windows\.net/?(.*)$", url)
        if not m:
            raise InvalidArgumentError(
                f"Azure URL {url!r} is invalid: expected abfss://<container>@<account>.dfs.core.windows.net/<dir>."
            )
        protocol, container, account, root = m.groups()
        return cls(account, container, root, protocol=protocol, **kwargs)

    @property
    def base_path(self) -> str:
        host = PROTOCOL_HOSTS[self.protocol]
        return f"{self.protocol}://{self.container_name}@{self.account_name}.{host}.core.windows.net/"


def init_storage(account_name: str, container_name: str, root_dir: str | None = None,
                 spark: Any = None, dbutils: Any = None, **kwargs: Any) -> AzureStorage:
    """An AzureStorage; `root_dir` defaults to the current user's name (dtflw 0.6.x behaviour)."""
    validate_account_name(account_name)
    validate_container_name(container_name)
    if dbutils is None:
        dbutils = db.get_dbutils()
    if root_dir is None:
        root_dir = db.get_current_username(dbutils)
    return AzureStorage(account_name, container_name, root_dir, spark=spark, dbutils=dbutils, **kwargs)
