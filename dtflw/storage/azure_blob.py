"""Azure Blob metadata calls for `AzureStorage`, on `azure-storage-blob` (imported lazily).

`BlobContainer` wraps one `ContainerClient` and offers the few calls the storage needs: the
first blobs under a prefix (one request), one folder level (`delimiter="/"`), a flat listing,
a small text upload, and deleting a blob with everything under it. Every SDK failure becomes
a `StorageError` naming the account, container and blob; credentials appear in no message,
log line or repr (SDK messages are never copied: they can hold request URLs with SAS tokens).
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

import attrs

from dtflw.errors import InvalidArgumentError, StorageError

#: Metadata key of folder-marker blobs (Hadoop WASB folders, ADLS Gen2 directories).
FOLDER_MARKER_KEY = "hdi_isfolder"
#: The service's largest page: one listing request returns up to this many entries.
PAGE_SIZE = 5000
#: Blob batch requests carry at most this many sub-requests.
BATCH_SIZE = 256
#: Retries after a throttled (503/500) or failed request, with exponential backoff.
DEFAULT_RETRIES = 3

_SAS_START = re.compile(r"^\??sv=", re.IGNORECASE)
_SAS_SIGNATURE = re.compile(r"(^\??|&)sig=[^&]+", re.IGNORECASE)
_CONNECTION_STRING = re.compile(
    r"(^|;)\s*(AccountName|UseDevelopmentStorage|BlobEndpoint|DefaultEndpointsProtocol)\s*=", re.IGNORECASE
)
_SIG_VALUE = re.compile(r"(sig=)[^&\s\"']+", re.IGNORECASE)
_THROTTLE_CODES = {"ServerBusy", "OperationTimedOut", "InternalError"}
_T = TypeVar("_T")


@attrs.frozen
class BlobEntry:
    """A blob, or a folder (a listing prefix or a folder-marker blob), by its full name."""

    name: str
    is_dir: bool
    size: int = 0
    modification_time: int = 0  # milliseconds since the epoch
    key: str = ""  # the blob's exact name ('' for a listing prefix, which is no blob)

    @property
    def basename(self) -> str:
        """Last segment of the name."""
        return self.name.rsplit("/", 1)[-1]


def _sdk() -> Any:
    """The `azure.storage.blob` module, or a StorageError saying how to install it."""
    try:
        import azure.storage.blob as blob
    except ImportError:
        raise StorageError(
            "AzureStorage with a credential needs the azure-storage-blob package: "
            "pip install 'dtflw[azure]' (or pip install azure-storage-blob)."
        ) from None
    return blob


def is_connection_string(value: str) -> bool:
    """True for `AccountName=...;AccountKey=...`, `BlobEndpoint=...;SharedAccessSignature=...` and
    `UseDevelopmentStorage=true` shapes."""
    return bool(_CONNECTION_STRING.search(value))


def _default_credential() -> Any:
    """`azure.identity.DefaultAzureCredential()`, or a clear error when azure-identity is missing."""
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        raise StorageError(
            "credential='default' needs the azure-identity package for DefaultAzureCredential: "
            "pip install azure-identity."
        ) from None
    return DefaultAzureCredential()


def _is_account_key(value: str) -> bool:
    """Account keys are base64 (64 bytes for real accounts); anything else is a misconfiguration."""
    try:
        return len(base64.b64decode(value, validate=True)) >= 16
    except (binascii.Error, ValueError):
        return False


def resolve_credential(account_name: str, credential: object) -> tuple[str, Any]:
    """(kind, SDK credential) for a key, SAS, 'default' or azure-core credential object.

    `kind` is a label without secrets, for reprs and messages. Connection strings are handled
    by the caller (they also carry an endpoint).
    """
    if isinstance(credential, str):
        return _resolve_string(account_name, credential.strip())
    from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential

    if isinstance(credential, AzureNamedKeyCredential):
        return "named key credential", credential
    if isinstance(credential, AzureSasCredential):
        return "SAS credential", credential
    if callable(getattr(credential, "get_token", None)):
        return f"token credential ({type(credential).__name__})", credential
    raise InvalidArgumentError(
        f"Azure credential of type {type(credential).__name__} is not supported: expected a connection "
        "string, an account key, a SAS token, 'default', or an azure.core.credentials credential object."
    )


def _resolve_string(account_name: str, value: str) -> tuple[str, Any]:
    from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential

    if value.lower() == "default":
        return "DefaultAzureCredential", _default_credential()
    if _SAS_START.match(value) or _SAS_SIGNATURE.search(value):
        return "SAS token", AzureSasCredential(value.lstrip("?"))
    if _is_account_key(value):
        return "account key", AzureNamedKeyCredential(account_name, value)
    raise InvalidArgumentError(
        f"The credential string for Azure storage account {account_name!r} is not recognised: expected a "
        "connection string (with AccountName=...), a SAS token ('sv=...&sig=...', optionally after '?'), a base64 "
        "account key, or 'default'. (The value is not shown.)"
    )


class _MaskSasSignatures(logging.Filter):
    """Masks `sig=` values in log lines: urllib3 logs whole request URLs (SAS included) at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is the logging module's to report
            return True
        if "sig=" in text.lower():
            record.msg, record.args = _SIG_VALUE.sub(r"\1REDACTED", text), ()
        return True


def mask_transport_logs() -> None:
    """Install the SAS-masking filter on urllib3's request logger (once)."""
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _MaskSasSignatures) for f in logger.filters):
        logger.addFilter(_MaskSasSignatures())


def check_endpoint(endpoint: object) -> str:
    """An http(s) account URL without a query or user info (those would leak into messages)."""
    if not isinstance(endpoint, str):
        raise InvalidArgumentError(f"endpoint must be a URL string, got {type(endpoint).__name__}.")
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgumentError(
            f"endpoint {parts.scheme}://{parts.hostname or ''}{parts.path} is not an http(s) account URL "
            "like https://<account>.blob.core.windows.net or http://127.0.0.1:10000/devstoreaccount1."
        )
    if parts.query or parts.username or parts.password or parts.fragment:
        raise InvalidArgumentError(
            f"endpoint {parts.scheme}://{parts.hostname}{parts.path} must not carry a query, fragment or user "
            "info: pass SAS tokens and keys as `credential`."
        )
    return endpoint.strip().rstrip("/")


class BlobContainer:
    """One container's metadata operations through a `ContainerClient`, errors translated.

    `credential` is a connection string, an account key, a SAS token, 'default' or an azure-core
    credential object; `endpoint` overrides the account URL (not with a connection string).
    `client_options` go to the SDK client (e.g. `raw_request_hook`, `retry_policy`, timeouts).
    """

    def __init__(
        self,
        account_name: str,
        container_name: str,
        credential: object,
        endpoint: str | None = None,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.account_name = account_name
        self.container_name = container_name
        options = self._options(client_options)
        mask_transport_logs()
        self.retries = int(getattr(options["retry_policy"], "total_retries", DEFAULT_RETRIES))
        self.kind, self._client = self._make_client(credential, endpoint, options)
        self.endpoint = _account_url(self._client.primary_endpoint) if endpoint is None else endpoint

    def __repr__(self) -> str:
        return (
            f"BlobContainer(account={self.account_name!r}, container={self.container_name!r}, "
            f"endpoint={self.endpoint!r}, auth={self.kind!r})"
        )

    # ---- construction ---------------------------------------------------------------------
    @staticmethod
    def _options(client_options: Mapping[str, Any] | None) -> dict[str, Any]:
        if client_options is not None and not isinstance(client_options, Mapping):
            raise InvalidArgumentError(
                f"client_options must be a mapping of SDK client keywords, got {type(client_options).__name__}."
            )
        options = dict(client_options or {})
        if "credential" in options:
            raise InvalidArgumentError("Pass the Azure credential as `credential`, not inside client_options.")
        if "retry_policy" not in options:
            options["retry_policy"] = _sdk().ExponentialRetry(
                initial_backoff=1, increment_base=2, retry_total=DEFAULT_RETRIES, random_jitter_range=1
            )
        return options

    def _make_client(self, credential: object, endpoint: str | None, options: dict[str, Any]) -> tuple[str, Any]:
        sdk = _sdk()
        if isinstance(credential, str) and is_connection_string(credential):
            if endpoint is not None:
                raise InvalidArgumentError(
                    "A connection string carries its own endpoint: pass `endpoint` only with an account key, "
                    "a SAS token or a credential object."
                )
            return "connection string", self._from_connection_string(sdk, credential, options)
        kind, sdk_credential = resolve_credential(self.account_name, credential)
        url = endpoint if endpoint is not None else f"https://{self.account_name}.blob.core.windows.net"
        client = sdk.ContainerClient(url, self.container_name, credential=sdk_credential, **options)
        return kind, client

    def _from_connection_string(self, sdk: Any, connection_string: str, options: dict[str, Any]) -> Any:
        try:
            client = sdk.ContainerClient.from_connection_string(connection_string, self.container_name, **options)
        except (ValueError, KeyError, TypeError):
            raise InvalidArgumentError(
                f"The connection string for Azure storage account {self.account_name!r} is malformed "
                "(expected key=value pairs separated by ';'). (The value is not shown.)"
            ) from None
        if client.account_name != self.account_name:
            raise InvalidArgumentError(
                f"The connection string is for Azure storage account {client.account_name!r}, but this storage's "
                f"account_name is {self.account_name!r}: paths and credential must name the same account."
            )
        return client

    # ---- operations -----------------------------------------------------------------------
    def first(self, prefix: str, count: int = 1) -> tuple[list[BlobEntry], bool]:
        """Up to `count` blobs whose names start with `prefix`, in name order (one request).

        Also says whether the listing is complete (no further page exists).
        """

        def call() -> tuple[list[BlobEntry], bool]:
            pages = self._client.list_blobs(
                name_starts_with=prefix, include=["metadata"], results_per_page=count
            ).by_page()
            page = [_entry(item) for item in next(pages)]
            return page, not pages.continuation_token

        return self._call(call, "listing the first blobs of", prefix)

    def scan(self, prefix: str, page_size: int = PAGE_SIZE) -> Iterable[BlobEntry]:
        """Every blob whose name starts with `prefix`, lazily, one request per page."""
        pages = iter(
            self._client.list_blobs(name_starts_with=prefix, include=["metadata"], results_per_page=page_size).by_page()
        )
        while True:
            page = self._call(lambda: next(pages, None), "listing", prefix)
            if page is None:
                return
            yield from self._call(functools.partial(_entries, page), "listing", prefix)

    def level(self, prefix: str) -> list[BlobEntry]:
        """One folder level: blobs and sub-folders whose names start with `prefix` (`delimiter="/"`).

        `prefix` is a folder name ending with '/' ('' for the container root), optionally followed
        by the literal start of the wanted names. Requests: one per 5,000 entries of this level;
        what lies below the sub-folders is never listed.
        """
        sdk = _sdk()
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""  # its own placeholder is no entry

        def call() -> list[BlobEntry]:
            found: dict[str, BlobEntry] = {}
            for item in self._client.walk_blobs(
                name_starts_with=prefix or None, include=["metadata"], delimiter="/", results_per_page=PAGE_SIZE
            ):
                if isinstance(item, sdk.BlobPrefix):
                    entry = BlobEntry(item.name.rstrip("/"), is_dir=True)
                else:
                    entry = _entry(item)
                if entry.name and entry.name != folder and (entry.name not in found or entry.is_dir):
                    found[entry.name] = entry
            return sorted(found.values(), key=lambda e: e.name)

        return self._call(call, "listing the folder", prefix)

    def exact(self, name: str) -> BlobEntry | None:
        """The blob named exactly `name` (one request: it is the first name starting with itself)."""
        page, _ = self.first(name)
        return page[0] if page and page[0].name == name else None

    def put_text(self, name: str, text: str) -> None:
        """Create or overwrite a small UTF-8 text blob."""
        settings = _sdk().ContentSettings(content_type="text/plain; charset=utf-8")
        self._call(
            lambda: self._client.upload_blob(name, text.encode("utf-8"), overwrite=True, content_settings=settings),
            "writing",
            name,
        )

    def read_text(self, name: str) -> str | None:
        """A small UTF-8 text blob's content; None when there is no such blob."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            data: bytes = self._client.download_blob(name).readall()
            return data.decode("utf-8")
        except ResourceNotFoundError as error:
            if _error_code(error) == "ContainerNotFound":
                self._raise(error, "reading", name)
            return None
        except Exception as error:
            self._raise(error, "reading", name)

    def delete_tree(self, name: str, recurse: bool) -> None:
        """Delete blob `name` and, with `recurse`, every blob under `name/`; missing ones are fine.

        Deepest names go first, so folder markers are removed after their contents.
        """
        names = [e.key for e in self.scan(name + "/")] if recurse else []
        names = sorted(set(names) | {name}, key=lambda n: (-n.count("/"), n))
        for start in range(0, len(names), BATCH_SIZE):
            self._delete_batch(names[start : start + BATCH_SIZE])

    def _delete_batch(self, names: list[str]) -> None:
        """One batch request; blobs it could not delete (or all, if batches are refused) go singly."""
        try:
            responses = list(self._client.delete_blobs(*names, raise_on_any_failure=False))
        except Exception:  # e.g. accounts without batch support: deleting singly names the failure
            responses = [None] * len(names)
        for name, response in zip(names, responses):
            if response is None or response.status_code not in (200, 202, 404):
                self._delete_one(name)

    def _delete_one(self, name: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            self._client.delete_blob(name)
        except ResourceNotFoundError as error:
            if _error_code(error) == "ContainerNotFound":
                self._raise(error, "deleting", name)
        except Exception as error:
            self._raise(error, "deleting", name)

    def probe(self) -> None:
        """One request that fails clearly when the container is missing or access is denied."""
        self._call(self._client.get_container_properties, "reading the properties of", "")

    # ---- errors -----------------------------------------------------------------------------
    def _call(self, fn: Callable[[], _T], action: str, name: str) -> _T:
        try:
            return fn()
        except StorageError:
            raise
        except Exception as error:
            self._raise(error, action, name)

    def _raise(self, error: Exception, action: str, name: str) -> NoReturn:
        raise self.translate(error, action, name) from None

    def translate(self, error: Exception, action: str, name: str) -> StorageError:
        """A StorageError for an SDK failure; the SDK's own message is never included."""
        from azure.core.exceptions import AzureError, HttpResponseError, ServiceRequestError, ServiceResponseError

        where = f"Azure storage account {self.account_name!r}, container {self.container_name!r}"
        what = f"{action} {name!r}" if name else f"{action} the container root"
        if isinstance(error, HttpResponseError) and error.status_code is not None:
            return self._http_error(error, where, what)
        if isinstance(error, (ServiceRequestError, ServiceResponseError)):
            return StorageError(
                f"{where}: could not reach the blob endpoint {self.endpoint} while {what}, after "
                f"{self.retries} retries ({_root_cause(error)})."
            )
        if isinstance(error, AzureError):
            return StorageError(f"{where}: {what} failed ({_root_cause(error)}).")
        return StorageError(f"{where}: {what} failed ({type(error).__name__}).")

    def _http_error(self, error: Any, where: str, what: str) -> StorageError:
        status, code = error.status_code, _error_code(error) or "no error code"
        if code == "ContainerNotFound":
            return StorageError(
                f"{where}: the container does not exist (HTTP {status} ContainerNotFound while {what}). "
                "Create it or fix container_name."
            )
        if status in (401, 403):
            return StorageError(
                f"{where}: the credentials were rejected (HTTP {status} {code}) while {what}. Check the "
                f"{self.kind} configured for this storage, that it belongs to this account, and its permissions."
            )
        if status == 503 or code in _THROTTLE_CODES:
            return StorageError(
                f"{where}: throttled after {self.retries} retries with exponential backoff (HTTP {status} {code}) "
                f"while {what}. Retry later or reduce the request rate."
            )
        return StorageError(f"{where}: {what} failed with HTTP {status} {code}.")


def _entries(items: Iterable[Any]) -> list[BlobEntry]:
    """Entries for one page of the SDK's listing (reading the page may send the request)."""
    return [_entry(item) for item in items]


def _entry(item: Any) -> BlobEntry:
    """A BlobEntry for an SDK BlobProperties; folder markers (metadata or a trailing '/') are folders."""
    metadata = getattr(item, "metadata", None) or {}
    modified = getattr(item, "last_modified", None)
    marker = str(metadata.get(FOLDER_MARKER_KEY, "")).lower() == "true" or item.name.endswith("/")
    return BlobEntry(
        name=item.name.rstrip("/"),
        is_dir=marker,
        size=int(getattr(item, "size", 0) or 0),
        modification_time=int(modified.timestamp() * 1000) if modified is not None else 0,
        key=item.name,
    )


def _error_code(error: Any) -> str | None:
    code = getattr(error, "error_code", None)
    if code is None and getattr(error, "response", None) is not None:
        code = error.response.headers.get("x-ms-error-code")
    return str(getattr(code, "value", code)) if code else None


def _root_cause(error: BaseException) -> str:
    """Names of the exception types down the cause chain (no messages: they can hold URLs)."""
    names: list[str] = []
    seen: BaseException | None = error
    while seen is not None and len(names) < 4:
        names.append(type(seen).__name__)
        seen = getattr(seen, "inner_exception", None) or seen.__cause__ or seen.__context__
    return " <- ".join(dict.fromkeys(names))


def _account_url(container_url: str) -> str:
    """The account URL of a container URL, without any query (which may hold a SAS token)."""
    parts = urlsplit(container_url)
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/').rsplit('/', 1)[0]}"
