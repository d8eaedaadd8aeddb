"""Where attachments' bytes live: a folder on this host, or an S3-compatible bucket that every app
server shares (ATTACHMENTS_S3_BUCKET). Both answer the same five calls; rows name files by their
storage name, so a desk can move from one to the other by copying the files under those names.

Every failure of the store comes back as StorageError (logged here, with the backend's own error),
never as a backend exception: views show it as a form error, the mail intake logs the message as
failed with its raw bytes kept.
"""

import functools
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC

from flask import current_app

from helpdesk.errors import StorageError

log = logging.getLogger(__name__)

# Storage names the desk makes (secrets.token_hex(24)); cleaning removes nothing else, so a folder
# or bucket that also holds other files never loses them.
STORAGE_NAME = re.compile(r"^[0-9a-f]{48}$")
CONNECT_TIMEOUT = 5  # seconds: an unreachable store fails an upload in seconds, not minutes
READ_TIMEOUT = 30
ATTEMPTS = 2  # botocore's "standard" retries: one retry of a throttled or dropped request


@dataclass
class StoredFile:
    """An open stored file: a binary file object (closed by whoever reads it) and its size."""

    stream: object
    size: int


class LocalStorage:
    """Files in a folder on this host (instance/uploads by default), written 0600."""

    def __init__(self, folder):
        self.folder = folder

    def __repr__(self):
        return f"LocalStorage({self.folder!r})"

    def _path(self, name):
        return os.path.join(self.folder, name)

    def close(self):
        pass

    def put(self, name, data):
        try:
            os.makedirs(self.folder, exist_ok=True)
            # 0600: readable by the app's own user only, whatever the umask (other local accounts
            # and services on the host must not read customers' files).
            descriptor = os.open(self._path(name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            raise _failed(self, "write", exc) from exc

    def open(self, name):
        """The file, or None when there is none of that name."""
        try:
            fh = open(self._path(name), "rb")  # closed by whoever reads it (the response)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _failed(self, "read", exc) from exc
        return StoredFile(fh, os.fstat(fh.fileno()).st_size)

    def delete(self, name):
        """Remove the file; one that is already gone is fine."""
        try:
            os.remove(self._path(name))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise _failed(self, "delete", exc) from exc

    def exists(self, name):
        return os.path.isfile(self._path(name))

    def names_older_than(self, cutoff):
        """Storage names of the files last written before `cutoff` (an aware or UTC datetime)."""
        limit = _timestamp(cutoff)
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _failed(self, "list", exc) from exc
        for entry in entries:
            try:
                old = STORAGE_NAME.match(entry.name) and entry.is_file() and entry.stat().st_mtime < limit
            except FileNotFoundError:
                continue  # removed meanwhile (by a rollback, or another run)
            if old:
                yield entry.name


class S3Storage:
    """Objects `<prefix><storage name>` in one bucket of S3 or an S3-compatible store (MinIO, Ceph,
    R2, ...). The bucket stays private: files are only ever served through the app."""

    def __init__(self, client, bucket, prefix=""):
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def __repr__(self):
        return f"S3Storage(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _key(self, name):
        return self.prefix + name

    def close(self):
        self.client.close()

    def put(self, name, data):
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(name), Body=data, ContentType="application/octet-stream"
            )
        except _errors() as exc:
            raise _failed(self, "write", exc) from exc

    def open(self, name):
        """The object, or None when there is none of that name."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(name))
        except _errors() as exc:
            if _missing(exc):
                return None
            raise _failed(self, "read", exc) from exc
        return StoredFile(answer["Body"], int(answer["ContentLength"]))

    def delete(self, name):
        """Remove the object; S3 answers a missing one like a deleted one."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(name))
        except _errors() as exc:
            raise _failed(self, "delete", exc) from exc

    def exists(self, name):
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(name))
        except _errors() as exc:
            if _missing(exc):
                return False
            raise _failed(self, "check", exc) from exc
        return True

    def names_older_than(self, cutoff):
        """Storage names of the objects under the prefix last written before `cutoff`."""
        limit = _timestamp(cutoff)
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        try:
            for page in pages:
                for item in page.get("Contents", ()):
                    name = item["Key"][len(self.prefix) :]
                    if STORAGE_NAME.match(name) and item["LastModified"].timestamp() < limit:
                        yield name
        except _errors() as exc:
            raise _failed(self, "list", exc) from exc


def backend(app=None):
    """The store the app's settings name: S3 when ATTACHMENTS_S3_BUCKET is set, else the upload
    folder. Made once per app and settings (a boto3 client is thread-safe and costs ~50 ms)."""
    app = app or current_app._get_current_object()
    config = app.config
    settings = (
        config.get("ATTACHMENTS_S3_BUCKET"),
        config.get("ATTACHMENTS_S3_ENDPOINT_URL"),
        config.get("ATTACHMENTS_S3_PREFIX") or "",
        config["UPLOAD_FOLDER"],
    )
    made = app.extensions.setdefault("attachment_storage", {})
    if settings not in made:
        made[settings] = _make(*settings)
    return made[settings]


def forget(app):
    """Drop the stores made for the app, closing their connections (tests that switch settings)."""
    for made in app.extensions.pop("attachment_storage", {}).values():
        made.close()


def _make(bucket, endpoint_url, prefix, folder):
    if not bucket:
        return LocalStorage(folder)
    import boto3
    import botocore.session
    from botocore.config import Config

    options = {
        "connect_timeout": CONNECT_TIMEOUT,
        "read_timeout": READ_TIMEOUT,
        "retries": {"total_max_attempts": ATTEMPTS, "mode": "standard"},
    }
    if endpoint_url:
        # S3-compatible stores are reached by path (http://minio:9000/bucket/key): their host
        # names rarely resolve with the bucket in front. Checksums only where S3 requires them:
        # several compatible stores refuse the newer default ones.
        options.update(
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
    # A session of its own (boto3's default session is shared module state and not thread-safe),
    # reading credentials and region from boto3's usual places (AWS_* variables, ~/.aws, a role);
    # only the loader of botocore's service descriptions (read-only, ~0.2 s to load) is shared.
    core = botocore.session.Session()
    core.register_component("data_loader", _shared_loader(core.get_config_variable("data_path")))
    client = boto3.session.Session(botocore_session=core).client(
        "s3", endpoint_url=endpoint_url or None, config=Config(**options)
    )
    return S3Storage(client, bucket, normalise_prefix(prefix))


@functools.cache
def _shared_loader(data_path):
    from botocore.loaders import create_loader

    return create_loader(data_path)


def normalise_prefix(prefix):
    """ "helpdesk" and "/helpdesk/" -> "helpdesk/"; "" stays "" (the bucket's top level)."""
    prefix = (prefix or "").strip().strip("/")
    return f"{prefix}/" if prefix else ""


def _timestamp(moment):
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the database's times are naive UTC
    return moment.timestamp()


def _errors():
    """The exceptions a boto3 call raises for a store that failed (unreachable, refused, timed out)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


def _missing(exc):
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("NoSuchKey", "404", "NotFound")


def _failed(store, action, exc):
    log.error("attachment store %r: %s failed: %s: %s", store, action, type(exc).__name__, exc)
    return StorageError()
