"""A vehicle's key at rest: an eth-account (Web3 Secret Storage) keystore file, never a plaintext key.

The password comes from an environment variable whose *name* the caller passes, or from an interactive prompt.
It is never a command-line argument, because argv is readable by every user through /proc and shell history.
Errors say what went wrong and where, and never carry the password or the key.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from eth_account import Account
from eth_account.signers.local import LocalAccount

from .errors import (
    KeystoreCorrupt,
    KeystoreExists,
    KeystoreNotFound,
    PasswordMismatch,
    PasswordUnavailable,
    WrongPassword,
)

Prompt = Callable[[str], str]


def read_password(env_var: str | None, *, prompt: Prompt | None = None, confirm: bool = False) -> str:
    """The password from `env_var` if set, else from `prompt` (getpass on a terminal); never empty."""
    if env_var and os.environ.get(env_var):
        return os.environ[env_var]
    if prompt is None:
        if sys.stdin is None or not sys.stdin.isatty():
            where = f"environment variable {env_var} is not set" if env_var else "no password environment variable"
            raise PasswordUnavailable(f"{where}, and there is no terminal to prompt for the keystore password")
        prompt = getpass.getpass
    password = prompt("Keystore password: ")
    if not password:
        raise PasswordUnavailable("an empty keystore password was given")
    if confirm and prompt("Repeat the password: ") != password:
        raise PasswordMismatch("the two passwords typed differ")
    return password


def create_keystore(
    path: str | Path,
    *,
    password_env: str | None = None,
    private_key: bytes | None = None,
    prompt: Prompt | None = None,
    kdf: Literal["pbkdf2", "scrypt"] = "scrypt",
    iterations: int | None = None,
) -> LocalAccount:
    """Encrypt `private_key` (a new random key if None) into a new 0600 file at `path`; return the account.

    `iterations` lowers the KDF cost for tests only; the eth-account defaults are the ones to use for real keys.
    """
    path = Path(path)
    if path.exists():
        raise KeystoreExists(f"keystore {path} already exists; refusing to overwrite it")
    password = read_password(password_env, prompt=prompt, confirm=True)
    account: LocalAccount = Account.from_key(private_key) if private_key is not None else Account.create()
    encrypted = Account.encrypt(account.key, password, kdf=kdf, iterations=iterations)
    _write_private(path, json.dumps(encrypted).encode())
    return account


def load_keystore(path: str | Path, *, password_env: str | None = None, prompt: Prompt | None = None) -> LocalAccount:
    """Unlock the keystore at `path` with the password from `password_env` or a prompt."""
    path = Path(path)
    keyfile = _read_keyfile(path)
    password = read_password(password_env, prompt=prompt)
    try:
        key = Account.decrypt(keyfile, password)
    except ValueError as error:
        # from None: the library's own exception never reaches a log with our context attached
        if "MAC mismatch" in str(error):
            raise WrongPassword(f"wrong password for keystore {path}") from None
        raise KeystoreCorrupt(f"keystore {path} could not be decrypted: {type(error).__name__}") from None
    except (KeyError, TypeError) as error:
        raise KeystoreCorrupt(f"keystore {path} lacks a field: {type(error).__name__}") from None
    account: LocalAccount = Account.from_key(key)
    return account


def _read_keyfile(path: Path) -> dict[str, Any]:
    try:
        keyfile = json.loads(path.read_text())
    except FileNotFoundError:
        raise KeystoreNotFound(f"no keystore at {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise KeystoreCorrupt(f"keystore {path} is not readable JSON: {type(error).__name__}") from None
    if not isinstance(keyfile, dict) or "crypto" not in {k.lower() for k in keyfile}:
        raise KeystoreCorrupt(f"keystore {path} has no 'crypto' section")
    return keyfile


def _write_private(path: Path, data: bytes) -> None:
    """Write owner-only (0600) and atomically: a crash leaves either no keystore or a whole one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask can only remove bits; this pins the mode whatever it is
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temporary, path)  # fails if `path` appeared meanwhile, unlike rename
    except FileExistsError:
        raise KeystoreExists(f"keystore {path} already exists; refusing to overwrite it") from None
    finally:
        temporary.unlink()
