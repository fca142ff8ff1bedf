"""Strict node config (issue 10): misspelt keys, another vehicle's credential, and the deployment, db folder and port
checked before the key is unlocked, each refused through the real `v2v node run` in one line; and the line a started
node prints."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from typer.testing import CliRunner

from node.config import load_config
from tests.support.fleet_nodes import Fleet
from v2vchain.cli.main import app
from v2vchain.errors import ConfigError
from v2vchain.identity.did import did_for
from v2vchain.identity.keystore import create_keystore

PASSWORD_ENV, TOKEN_ENV = "TEST_NODE_PASSWORD", "TEST_NODE_TOKEN"
ENV = {PASSWORD_ENV: "correct horse", TOKEN_ENV: "t" * 32}
RECORD = {
    "chain_id": 31337,
    "token": "0x" + "11" * 20,
    "registry": "0x" + "22" * 20,
    "market": "0x" + "33" * 20,
    "block": 1,
    "admin": "0x" + "44" * 20,
    "compiler": "0.8.28",
    "source_hash": "00" * 32,
    "dev_token": True,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _vc_for(address: str) -> dict[str, Any]:
    return {"credentialSubject": {"id": did_for(address, 31337)}}  # only the subject is read before the chain


def write_config(tmp_path: Path, *, subject: str | None = None, **overrides: Any) -> Path:
    """A config whose files are all in place; the keystore's password is in ENV. `subject`: the VC's holder."""
    keystore = tmp_path / "key.json"
    if not keystore.exists():
        os.environ[PASSWORD_ENV] = ENV[PASSWORD_ENV]
        account = create_keystore(keystore, password_env=PASSWORD_ENV, kdf="pbkdf2", iterations=2)
        (tmp_path / "address").write_text(account.address)
    (tmp_path / "deployment.json").write_text(json.dumps(RECORD))
    (tmp_path / "vc.json").write_text(json.dumps(_vc_for(subject or (tmp_path / "address").read_text())))
    config = {
        "name": "car",
        "chain": "http://127.0.0.1:9",
        "deployment": str(tmp_path / "deployment.json"),
        "keystore": str(keystore),
        "credential": str(tmp_path / "vc.json"),
        "db": str(tmp_path / "node.sqlite"),
        "port": _free_port(),
        "password_env": PASSWORD_ENV,
        "api_token_env": TOKEN_ENV,
        "position": {"lat": 52.5, "lon": 13.4},
        **overrides,
    }
    path = tmp_path / "node.json"
    path.write_text(json.dumps(config))
    return path


def node_run(config: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["node", "run", "--config", str(config)], env=env if env is not None else ENV)
    return result.exit_code, result.output


def assert_refused(code: int, output: str, *fragments: str) -> None:
    assert code == 1, output
    assert "Traceback" not in output and output.startswith("error: ") and len(output.strip().splitlines()) == 1, output
    for fragment in fragments:
        assert fragment in output, output


def test_a_misspelt_key_is_rejected_by_name_with_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'prot' \(did you mean 'port'\?\)"):
        load_config(write_config(tmp_path, prot=8701))
    with pytest.raises(ConfigError, match=r"unknown key 'pricing.degradation' \(did you mean 'degradation_per_wh'"):
        load_config(write_config(tmp_path, pricing={"degradation": 10}))
    assert_refused(*node_run(write_config(tmp_path, api_tokn_env="X")), "unknown key 'api_tokn_env'")


def test_a_node_refuses_another_vehicles_credential(tmp_path: Path) -> None:
    other = Account.create().address
    assert_refused(*node_run(write_config(tmp_path, subject=other)), f"issued to {other}", "not to this node's key")


def test_a_credential_that_is_not_one_is_refused_before_unlocking(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    (tmp_path / "vc.json").write_text(json.dumps({"hello": "world"}))
    assert_refused(*node_run(config, env={}), "no did:pkh credentialSubject.id")


@pytest.mark.parametrize(
    "record, message",
    [
        ("not json at all", "is not JSON"),
        ([1, 2, 3], "holds a JSON list, not an object"),
        ({"market": "0x" + "33" * 20}, "is not a deployment record written by `v2v deploy`"),
    ],
)
def test_a_deployment_file_that_is_no_record_is_refused_before_unlocking(
    tmp_path: Path, record: Any, message: str
) -> None:
    config = write_config(tmp_path)
    (tmp_path / "deployment.json").write_text(record if isinstance(record, str) else json.dumps(record))
    # no password and no token in the environment: the check must come before either is needed
    assert_refused(*node_run(config, env={}), "deployment", message)


def test_a_db_in_a_missing_or_unwritable_folder_is_refused_before_unlocking(tmp_path: Path) -> None:
    assert_refused(
        *node_run(write_config(tmp_path, db=str(tmp_path / "nowhere" / "node.sqlite")), env={}),
        "db: the folder",
        "does not exist",
    )
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert_refused(*node_run(write_config(tmp_path, db=str(blocker / "node.sqlite")), env={}), "db: the folder")
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert_refused(*node_run(write_config(tmp_path, db=str(locked / "node.sqlite")), env={}), "not writable")


def test_a_port_in_use_is_refused_before_unlocking(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_refused(*node_run(write_config(tmp_path, port=port), env={}), f"cannot listen on 127.0.0.1:{port}")


def test_a_started_node_says_where_it_listens(fleet: Fleet) -> None:
    for name, node in fleet.nodes.items():
        assert f"listening on {node.url}" in node.log.read_text(), name


def test_the_operator_section_is_strict_and_names_a_known_mechanism(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, operator={"interval_s": 30, "mechanism": "max-welfare-assignment"}))
    assert config.operator is not None and config.operator.interval_s == 30
    assert load_config(write_config(tmp_path)).operator is None  # no section: not an operator
    with pytest.raises(ConfigError, match=r"unknown key 'operator.intervall_s' \(did you mean 'interval_s'\?\)"):
        load_config(write_config(tmp_path, operator={"intervall_s": 30}))
    with pytest.raises(ConfigError, match=r"operator.mechanism"):
        load_config(write_config(tmp_path, operator={"mechanism": "first-come"}))
    with pytest.raises(ConfigError, match=r"operator_url"):
        load_config(write_config(tmp_path, operator_url="ftp://elsewhere"))
