"""The attachment stores without HTTP: the local folder's files and the names cleaning may touch."""

import os
import secrets
from datetime import timedelta

import pytest

from helpdesk.dbtypes import utcnow
from helpdesk.errors import StorageError
from helpdesk.tickets import storage


def test_a_local_store_writes_private_files_and_reads_them_back(tmp_path):
    files = storage.LocalStorage(str(tmp_path / "uploads"))
    name = secrets.token_hex(24)
    files.put(name, b"hello")
    assert os.stat(tmp_path / "uploads" / name).st_mode & 0o777 == 0o600
    stored = files.open(name)
    with stored.stream:
        assert stored.size == 5 and stored.stream.read() == b"hello"
    assert files.exists(name)
    files.delete(name)
    files.delete(name)  # a file already gone is fine
    assert not files.exists(name) and files.open(name) is None


def test_a_local_store_never_overwrites_a_file(tmp_path):
    files = storage.LocalStorage(str(tmp_path))
    files.put("a" * 48, b"first")
    with pytest.raises(StorageError, match="The file store is not answering"):
        files.put("a" * 48, b"second")
    with files.open("a" * 48).stream as fh:
        assert fh.read() == b"first"


def test_a_folder_that_cannot_be_made_is_a_storage_error(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("where the folder should be")
    with pytest.raises(StorageError):
        storage.LocalStorage(str(blocked / "uploads")).put(secrets.token_hex(24), b"x")


def test_only_names_the_desk_makes_are_listed_for_cleaning(tmp_path):
    files = storage.LocalStorage(str(tmp_path))
    ours = secrets.token_hex(24)
    for name in (ours, "notes.txt", ours.upper(), ours[:-1]):
        files.put(name, b"x")
    assert list(files.names_older_than(utcnow() + timedelta(minutes=1))) == [ours]
    assert list(files.names_older_than(utcnow() - timedelta(minutes=1))) == []
    assert list(storage.LocalStorage(str(tmp_path / "missing")).names_older_than(utcnow())) == []


@pytest.mark.parametrize(
    "raw, prefix",
    [("", ""), (None, ""), ("helpdesk", "helpdesk/"), ("/desk/files/", "desk/files/"), (" a ", "a/")],
)
def test_prefixes_are_normalised(raw, prefix):
    assert storage.normalise_prefix(raw) == prefix
