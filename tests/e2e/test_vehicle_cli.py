"""`v2v vehicle ...` and `v2v issuer issue` against a real anvil (issue 10): what is missing is said in one line before
anything is sent; what works prints in the token's units."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from typer.testing import CliRunner

from v2vchain.chain.anvil import ANVIL_DEV_KEY, start_anvil
from v2vchain.cli.main import app
from v2vchain.paths import state_dir

from .test_cli_errors import assert_one_line_error

pytestmark = pytest.mark.anvil

ENV = {
    "V2V_PRIVATE_KEY": ANVIL_DEV_KEY,
    "V2V_ISSUER_PASSWORD": "issuer-password",
    "V2V_KEY_PASSWORD": "vehicle-password",
}
PEER = "https://127.0.0.1:8798#sha256=" + "ab" * 32  # another node's URL as its node-config printed it


def v2v(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={**ENV, **(env or {})})
    return result.exit_code, result.output


def ok(*args: str, env: dict[str, str] | None = None) -> str:
    code, output = v2v(*args, env=env)
    assert code == 0, output
    return output


def first_address(output: str, word: str) -> str:
    return next(line.split()[1] for line in output.splitlines() if line.startswith(word))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    folder = tmp_path_factory.mktemp("vehicle-cli")
    home = folder / "state"
    if (state_dir() / "build").is_dir():
        shutil.copytree(state_dir() / "build", home / "build")  # no recompilation
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("V2V_HOME", str(home))
        anvil = start_anvil()
        try:
            url = anvil.url
            ok("deploy", "--chain", url)
            issuer = first_address(
                ok("issuer", "init", "--keystore", str(folder / "issuer.json"), "--chain", url), "issuer"
            )
            yield {"url": url, "folder": str(folder), "issuer": issuer}
        finally:
            anvil.stop()


def new_vehicle(world: dict[str, str], name: str) -> tuple[str, Path]:
    keystore = Path(world["folder"]) / f"{name}.key.json"
    output = ok("vehicle", "init", "--keystore", str(keystore))
    address = first_address(output, "vehicle")
    assert f"did:pkh:eip155:31337:{address}" in output
    return address, keystore


def issue(
    world: dict[str, str], vehicle: str, *, keystore: str = "issuer.json", roles: str = "seller"
) -> tuple[int, str]:
    folder = Path(world["folder"])
    return v2v(
        "issuer", "issue", "--keystore", str(folder / keystore), "--chain", world["url"],
        "--vehicle", vehicle, "--roles", roles, "--out", str(folder / f"{vehicle}.vc.json"),
    )  # fmt: skip


def test_issue_says_what_is_missing_before_sending(world: dict[str, str]) -> None:
    vehicle, _ = new_vehicle(world, "unissued")
    code, output = issue(world, vehicle)
    assert_one_line_error(code, output, "no gas", world["issuer"])
    code, output = issue(world, "0x1234")
    assert_one_line_error(code, output, "--vehicle", "not a 0x address")
    folder = Path(world["folder"])
    ok("issuer", "init", "--keystore", str(folder / "stranger.json"))
    code, output = issue(world, vehicle, keystore="stranger.json")
    assert_one_line_error(code, output, "not authorised on registry")
    assert not (folder / f"{vehicle}.vc.json").exists()


def test_setup_before_registration_then_without_gas_then_with_too_few_tokens(world: dict[str, str]) -> None:
    url = world["url"]
    vehicle, keystore = new_vehicle(world, "newcomer")
    code, output = v2v("vehicle", "setup", "--chain", url, "--keystore", str(keystore))
    assert_one_line_error(code, output, "not registered yet", vehicle)
    ok("vehicle", "fund", "--chain", url, "--vehicle", world["issuer"])
    issued = issue(world, vehicle)
    assert issued[0] == 0, issued[1]
    code, output = v2v("vehicle", "setup", "--chain", url, "--keystore", str(keystore))
    assert_one_line_error(code, output, "no gas")
    funded = ok("vehicle", "fund", "--chain", url, "--vehicle", vehicle, "--tokens", "5.5")
    assert "minted 5.5 VEC" in funded
    code, output = v2v("vehicle", "setup", "--chain", url, "--keystore", str(keystore), "--deposit", "6")
    assert_one_line_error(code, output, "5.5 VEC", "too few")
    done = ok("vehicle", "setup", "--chain", url, "--keystore", str(keystore), "--deposit", "2.5")
    assert "approved Market" in done and "approved Clearing" in done and "deposited 2.5 VEC" in done
    status = ok("vehicle", "status", "--chain", url, "--vehicle", vehicle)
    assert "registration: active" in status and "roles: seller" in status
    assert "3 VEC" in status and "Market: free 2.5 VEC, locked 0 VEC (approved)" in status
    assert re.search(r"until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n", status)  # ISO 8601 UTC, as the audit prints


def test_node_config_is_one_node_run_accepts(world: dict[str, str]) -> None:
    url = world["url"]
    vehicle, keystore = new_vehicle(world, "configured")
    ok("vehicle", "fund", "--chain", url, "--vehicle", world["issuer"])
    assert issue(world, vehicle)[0] == 0
    folder = Path(world["folder"])
    out = folder / "configured.node.json"
    ok(
        "vehicle", "node-config", "--chain", url, "--keystore", str(keystore), "--credential",
        str(folder / f"{vehicle}.vc.json"), "--out", str(out), "--port", "8799", "--peer", PEER,
    )  # fmt: skip
    config = json.loads(out.read_text())
    assert config["chain"] == url and config["port"] == 8799 and config["peers"] == [PEER]
    assert Path(config["deployment"]).exists()
    other, _ = new_vehicle(world, "other")
    code, output = v2v(
        "vehicle", "node-config", "--chain", url, "--keystore", str(folder / "other.key.json"), "--credential",
        str(folder / f"{vehicle}.vc.json"), "--out", str(folder / "other.node.json"),
    )  # fmt: skip
    assert_one_line_error(code, output, "was issued to", other)
    assert not (folder / "other.node.json").exists()


def test_node_config_refuses_a_peer_without_a_certificate_pin(world: dict[str, str]) -> None:
    vehicle, keystore = new_vehicle(world, "unpinned")
    ok("vehicle", "fund", "--chain", world["url"], "--vehicle", world["issuer"])
    assert issue(world, vehicle)[0] == 0
    folder = Path(world["folder"])
    code, output = v2v(
        "vehicle", "node-config", "--chain", world["url"], "--keystore", str(keystore), "--credential",
        str(folder / f"{vehicle}.vc.json"), "--out", str(folder / "unpinned.node.json"), "--peer", "http://127.0.0.1:8798",
    )  # fmt: skip
    assert_one_line_error(code, output, "not a pinned node URL", "http://127.0.0.1:8798")
    assert not (folder / "unpinned.node.json").exists()


def test_status_of_a_stranger_and_a_funder_without_eth(world: dict[str, str]) -> None:
    url = world["url"]
    stranger = Account.create()
    status = ok("vehicle", "status", "--chain", url, "--vehicle", stranger.address)
    assert "registration: not registered" in status and "wallet: 0 ETH, 0 VEC" in status
    code, output = v2v(
        "vehicle", "fund", "--chain", url, "--vehicle", stranger.address, env={"V2V_PRIVATE_KEY": stranger.key.hex()}
    )
    assert_one_line_error(code, output, "has 0 ETH")


def test_fund_refuses_tokens_of_a_token_that_is_not_the_dev_token(world: dict[str, str]) -> None:
    url = world["url"]
    dev_token = json.loads(ok("deploy", "--chain", url).split("recorded in")[0])["token"]
    ok("deploy", "--chain", url, "--token", dev_token)  # now recorded as an outside token
    code, output = v2v("vehicle", "fund", "--chain", url, "--vehicle", Account.create().address, "--tokens", "1")
    assert_one_line_error(code, output, "not the dev token")
