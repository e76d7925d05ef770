"""What both ethash dialects (ethstratum, ethproxy) read the same way."""
import re

from gxcpoold.stratum.session import param_string

_HASHRATE = re.compile(r"0[xX][0-9a-fA-F]{1,64}\Z")


def reported_hashrate(params):
    """eth_submitHashrate ["0x<hashrate>", "0x<client id>"]: the hashes per
    second the miner says it does, an int (MalformedRequest when not hex)."""
    text = param_string(params, 0, "hashrate", _HASHRATE, "0x and up to 64 hex digits")
    return int(text, 16)
