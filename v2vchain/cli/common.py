"""What several command groups share: the --chain help, address arguments, the recorded deployment."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address

from v2vchain.audit.units import TokenUnits, checked_units
from v2vchain.chain.connect import Chain
from v2vchain.chain.errors import ContractRevert
from v2vchain.contracts.token import TokenClient
from v2vchain.deploy import System, load_recorded
from v2vchain.errors import ConfigError, InvalidInput

CHAIN_HELP = (
    "embedded (in-process eth-tester), anvil (a child anvil node), or an http(s) JSON-RPC URL "
    "(funded key in $V2V_PRIVATE_KEY)"
)


def address(value: str, option: str) -> str:
    """A 0x address given on the command line, checksummed; checked before any key is unlocked or chain reached."""

    if not is_address(value):
        raise InvalidInput(
            f"{option} {value!r} is not a 0x address (40 hex digits; mixed case must be a valid EIP-55 checksum)"
        )
    return str(to_checksum_address(value))


def recorded(chain: Chain, account: LocalAccount) -> System:

    system = load_recorded(chain, chain.sender(account))
    if system is None:
        raise ConfigError(f"no deployment recorded for chain {chain.chain_id}: run `v2v deploy --chain ...` first")
    return system


def eth(wei: int) -> str:
    """An amount of wei in ETH, exact, without trailing zeros."""
    return TokenUnits(18, "ETH").amount(wei)


def token_units(token: TokenClient) -> TokenUnits:
    """The token's display units as its client reads them, checked as the audit index's are: a token that reverts
    or answers nonsense is shown in raw units with the reason."""
    try:
        return checked_units(token.decimals(), token.symbol())
    except ContractRevert as exc:
        return TokenUnits.raw(f"the token refused: {exc}")
