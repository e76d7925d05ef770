"""The node wallet: one secret, one address, simulated signatures (spec §4, §2.19).

The address is derived like the real node's: prefix + first 34 hex chars of
RIPEMD160(SHA256(compressed secp256k1 public key)).  Signatures only need the
real JSON shape (DER-looking hex), so they are a deterministic hash of the
public key and the signed message; ``verify`` recomputes them.
"""
import hashlib

# secp256k1 curve parameters
_P = 2**256 - 2**32 - 977
_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
      0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)


def _point_add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    if a[0] == b[0] and (a[1] + b[1]) % _P == 0:
        return None
    if a == b:
        slope = 3 * a[0] * a[0] * pow(2 * a[1], -1, _P)
    else:
        slope = (b[1] - a[1]) * pow(b[0] - a[0], -1, _P)
    x = (slope * slope - a[0] - b[0]) % _P
    return x, (slope * (a[0] - x) - a[1]) % _P


def public_key(secret: bytes) -> str:
    """Compressed public key (66 hex chars, "02…"/"03…") of a 32-byte secret."""
    k = int.from_bytes(secret, "big") % (_N - 1) + 1
    point, addend = None, _G
    while k:
        if k & 1:
            point = _point_add(point, addend)
        addend = _point_add(addend, addend)
        k >>= 1
    return ("02" if point[1] % 2 == 0 else "03") + f"{point[0]:064x}"


def address_of(pubkey_hex: str, prefix: str) -> str:
    """§4: prefix + first 34 lowercase hex of RIPEMD160(SHA256(pubkey))."""
    try:
        raw = bytes.fromhex(pubkey_hex)
    except ValueError:
        raw = pubkey_hex.encode("utf-8", "replace")
    digest = hashlib.new("ripemd160", hashlib.sha256(raw).digest()).hexdigest()
    return prefix + digest[:34]


def signature(pubkey_hex: str, message: str) -> str:
    """A DER-shaped ("3045022100…0220…") deterministic stand-in for ECDSA."""
    r = hashlib.sha256(f"r|{pubkey_hex}|{message}".encode()).hexdigest()
    s = hashlib.sha256(f"s|{pubkey_hex}|{message}".encode()).hexdigest()
    return f"3045022100{r}0220{s}"


def verify(pubkey_hex: str, message: str, sig: str) -> bool:
    return sig == signature(pubkey_hex, message)


class NodeWallet:
    """The only keys the node can spend from (§2.13: from = node wallet)."""

    def __init__(self, secret: bytes, prefix: str):
        self.secret = secret
        self.public_key = public_key(secret)
        self.address = address_of(self.public_key, prefix)

    def sign(self, message: str) -> str:
        return signature(self.public_key, message)
