"""The one Python surface for proof-of-work hashing.

Every part of the pool and every test imports hash functions from here.  The
work is done in C (native/, compiled into gxcpoold._native by cffi); the
modules under gxcpoold/hashers/ wrap one family each and this module only
gathers their public names.
"""
from gxcpoold.hashers.gxhash import *  # noqa: F401,F403  gxhash, gxc_argon2
from gxcpoold.hashers.legacy import *  # noqa: F401,F403  gxc_sha256d_hex, gxc_merkle_root
