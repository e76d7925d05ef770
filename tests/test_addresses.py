"""Address checks per spec/gxc-node.md section 4."""
import pytest

from gxcpoold.addresses import AddressError, check_address

WALLET = "tGXCc036ae3af11be2ef553cb7806fae14c0b8"
MAINNET = "GXCe05a3e3799de3e8fa8c28b555fba6f6764"


def test_node_generated_addresses_pass_strict():
    assert check_address(WALLET, "testnet") == WALLET
    assert check_address(MAINNET, "mainnet") == MAINNET


@pytest.mark.parametrize("address", [
    "tGXC3tz6MsTbP2NCMvc33JixQdkQi6tf",            # genesis miner, Base58-looking
    "tGXC2a9d9ddb2e9ee658bca1c2ff41ffed99",        # fee pool, 36 characters
    "tGXC" + "a" * 33,                             # GXC's Python wallet form
])
def test_other_node_formats_need_lenient(address):
    with pytest.raises(AddressError, match="34 lowercase hex"):
        check_address(address, "testnet")
    assert check_address(address, "testnet", lenient=True) == address


@pytest.mark.parametrize("address, network", [(MAINNET, "testnet"), (WALLET, "mainnet")])
def test_other_network_is_named(address, network):
    with pytest.raises(AddressError, match="address; this pool is on " + network):
        check_address(address, network, lenient=True)


@pytest.mark.parametrize("address", [
    "", "abc", "tGXC", WALLET.upper(), WALLET + "0", WALLET[:-1], "tgxc" + WALLET[4:],
    "tGXC" + "g" * 34, "tGXC" + "a" * 59, "tGXC-" + "a" * 30, "tGXC" + "é" * 30, None, 42,
])
def test_rejects(address):
    with pytest.raises(AddressError):
        check_address(address, "testnet")


def test_lenient_length_bounds():
    assert check_address("tGXC" + "A" * 22, "testnet", lenient=True)
    assert check_address("tGXC" + "A" * 58, "testnet", lenient=True)
    for n in (21, 59):
        with pytest.raises(AddressError):
            check_address("tGXC" + "A" * n, "testnet", lenient=True)
