"""VolumeStorage: tables in a Unity Catalog volume (`/Volumes/<catalog>/<schema>/<volume>/`)."""

from __future__ import annotations

import re
from typing import Any

from dtflw.errors import InvalidArgumentError
from dtflw.storage.dbutils_fs import DbutilsFsStorage

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")


class VolumeStorage(DbutilsFsStorage):
    """Tables under `/Volumes/<catalog>/<schema>/<volume>/<root_dir>/...`."""

    scheme = "volumes"

    def __init__(
        self,
        catalog: str,
        schema: str,
        volume: str,
        root_dir: str | None = "",
        spark: Any = None,
        dbutils: Any = None,
        format: str = "parquet",
    ) -> None:
        for label, value in (("catalog", catalog), ("schema", schema), ("volume", volume)):
            if not isinstance(value, str) or not _NAME.match(value):
                raise InvalidArgumentError(
                    f"Volume {label} name {value!r} is invalid: expected letters, digits, '_' or '-'."
                )
        super().__init__(root_dir, spark=spark, dbutils=dbutils, format=format)
        self.catalog, self.schema, self.volume = catalog, schema, volume

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> VolumeStorage:
        """`/Volumes/c/s/v[/root]`, `volumes://c/s/v[/root]` or `volumes:/c/s/v[/root]`."""
        if url.startswith("volumes://"):
            rest = url.split("://", 1)[1]
        elif url.startswith("volumes:"):
            rest = url[len("volumes:") :]
        elif url.startswith("/Volumes/"):
            rest = url.removeprefix("/Volumes/")
        else:
            raise InvalidArgumentError(
                f"Volume URL {url!r} must look like /Volumes/<catalog>/<schema>/<volume> or volumes://<catalog>/..."
            )
        parts = rest.strip("/").split("/")
        if len(parts) < 3:
            raise InvalidArgumentError(
                f"Volume URL {url!r} must name a catalog, a schema and a volume: /Volumes/<catalog>/<schema>/<volume>."
            )
        return cls(parts[0], parts[1], parts[2], root_dir="/".join(parts[3:]), **kwargs)

    @property
    def base_path(self) -> str:
        return f"/Volumes/{self.catalog}/{self.schema}/{self.volume}/"
