"""GXC address checks (spec/gxc-node.md section 4).

The node itself checks almost nothing (only the network prefix, at consensus
time), so a wrong address surfaces late as "Block validation failed" or a
failed payout.  The pool checks early, strictly by default.
"""
import re

NETWORKS = ("testnet", "mainnet")
PREFIXES = {"testnet": "tGXC", "mainnet": "GXC"}
# What the node's chain info calls each network.
CHAIN_NAMES = {"testnet": "test", "mainnet": "main"}

# Node-generated addresses: prefix + 34 lowercase hex characters.
_STRICT = {
    "testnet": re.compile(r"tGXC[0-9a-f]{34}\Z"),
    "mainnet": re.compile(r"GXC[0-9a-f]{34}\Z"),
}
# Other formats the node accepts: network prefix, alphanumeric, 26-62 characters in all.
_LENIENT = {
    "testnet": re.compile(r"tGXC[0-9A-Za-z]{22,58}\Z"),
    "mainnet": re.compile(r"GXC[0-9A-Za-z]{23,59}\Z"),
}


class AddressError(ValueError):
    """An address the pool must not accept, with the reason."""


def check_address(address, network: str, *, lenient: bool = False) -> str:
    """Return the address if it is valid for the network, else raise AddressError."""
    if network not in NETWORKS:
        raise ValueError("unknown network %r" % (network,))
    if not isinstance(address, str):
        raise AddressError("an address must be text")
    other = "mainnet" if network == "testnet" else "testnet"
    if address.startswith(PREFIXES[other]) and not address.startswith(PREFIXES[network]):
        raise AddressError("%r is a %s address; this pool is on %s" % (address, other, network))
    pattern = (_LENIENT if lenient else _STRICT)[network]
    if not pattern.match(address):
        if lenient:
            raise AddressError("%r is not a %s address (%s followed by letters and digits, "
                               "26-62 characters in all)" % (address, network, PREFIXES[network]))
        raise AddressError("%r is not a %s address (%s followed by 34 lowercase hex digits)"
                           % (address, network, PREFIXES[network]))
    return address
