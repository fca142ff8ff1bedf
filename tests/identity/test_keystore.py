"""Encrypted key files: round trip, permissions, and errors that never leak the password or key."""

from __future__ import annotations

import inspect
import io
import json
import stat
from pathlib import Path

import pytest
from eth_account import Account

from v2vchain.errors import ConfigError
from v2vchain.identity.errors import (
    KeystoreCorrupt,
    KeystoreExists,
    KeystoreNotFound,
    PasswordMismatch,
    PasswordUnavailable,
    WrongPassword,
)
from v2vchain.identity.keystore import create_keystore, load_keystore

PASSWORD = "correct horse battery staple"
KEY = b"\x42" * 32
FAST = {"kdf": "scrypt", "iterations": 2**4}  # real keys keep eth-account's default cost


@pytest.fixture
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO())


@pytest.fixture
def keystore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("V2V_TEST_PASSWORD", PASSWORD)
    path = tmp_path / "keys" / "vehicle.json"
    create_keystore(path, password_env="V2V_TEST_PASSWORD", private_key=KEY, **FAST)
    return path


def test_round_trip_through_an_environment_variable(keystore: Path) -> None:
    account = load_keystore(keystore, password_env="V2V_TEST_PASSWORD")
    assert account.key == KEY
    assert json.loads(keystore.read_text())["address"].lower() == Account.from_key(KEY).address[2:].lower()


def test_keystore_file_is_owner_only(keystore: Path) -> None:
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
    assert KEY.hex() not in keystore.read_text()


def test_new_key_is_random_and_prompted_password_is_confirmed(tmp_path: Path) -> None:
    answers = iter([PASSWORD, PASSWORD])
    account = create_keystore(tmp_path / "k.json", prompt=lambda _: next(answers), **FAST)
    assert load_keystore(tmp_path / "k.json", prompt=lambda _: PASSWORD).address == account.address


def test_wrong_password_error_names_neither_password_nor_key(keystore: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2V_TEST_PASSWORD", "hunter2-wrong")
    with pytest.raises(WrongPassword) as info:
        load_keystore(keystore, password_env="V2V_TEST_PASSWORD")
    text = str(info.value) + repr(info.value) + repr(info.value.__cause__) + repr(info.value.__context__)
    assert "wrong password" in text and str(keystore) in text
    for secret in ("hunter2-wrong", PASSWORD, KEY.hex()):
        assert secret not in text
    assert info.value.__suppress_context__
    assert isinstance(info.value, ConfigError)


def test_unset_variable_without_a_terminal_says_which_variable(
    keystore: Path, no_terminal: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("V2V_TEST_PASSWORD")
    with pytest.raises(PasswordUnavailable, match="V2V_TEST_PASSWORD is not set"):
        load_keystore(keystore, password_env="V2V_TEST_PASSWORD")


def test_mistyped_confirmation_creates_nothing(tmp_path: Path) -> None:
    answers = iter([PASSWORD, PASSWORD + "x"])
    with pytest.raises(PasswordMismatch):
        create_keystore(tmp_path / "k.json", prompt=lambda _: next(answers), **FAST)
    assert not (tmp_path / "k.json").exists()


def test_empty_password_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PasswordUnavailable, match="empty"):
        create_keystore(tmp_path / "k.json", prompt=lambda _: "", **FAST)


def test_existing_keystore_is_never_overwritten(keystore: Path) -> None:
    before = keystore.read_bytes()
    with pytest.raises(KeystoreExists):
        create_keystore(keystore, password_env="V2V_TEST_PASSWORD", **FAST)
    assert keystore.read_bytes() == before
    assert [p.name for p in keystore.parent.iterdir()] == [keystore.name]  # no temporary left behind


def test_missing_and_corrupt_files_are_told_apart(tmp_path: Path) -> None:
    with pytest.raises(KeystoreNotFound):
        load_keystore(tmp_path / "absent.json", prompt=lambda _: PASSWORD)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(KeystoreCorrupt):
        load_keystore(tmp_path / "bad.json", prompt=lambda _: PASSWORD)
    (tmp_path / "empty.json").write_text("{}")
    with pytest.raises(KeystoreCorrupt):
        load_keystore(tmp_path / "empty.json", prompt=lambda _: PASSWORD)


def test_no_function_takes_the_password_itself() -> None:
    """A password parameter would invite passing it from argv."""
    for function in (create_keystore, load_keystore):
        assert not any(name == "password" for name in inspect.signature(function).parameters)
