"""The one Python surface for proof-of-work hashing.

Every part of the pool and every test imports hash functions from here.  The
work is done in C (native/, compiled into gxcpoold._native by cffi); the
modules under gxcpoold/hashers/ wrap one family each and this module only
gathers their public names.
"""
from gxcpoold.hashers.gxhash import *  # noqa: F401,F403  gxhash, gxc_argon2
from gxcpoold.hashers.legacy import *  # noqa: F401,F403  gxc_sha256d_hex, gxc_merkle_root
from gxcpoold.hashers.sha256d import *  # noqa: F401,F403  sha256, sha256d, merkle, stratum header, scan
from gxcpoold.hashers.keccak import *  # noqa: F401,F403  keccak256, keccak512
from gxcpoold.hashers.ethash import *  # noqa: F401,F403  epochs, seeds, sizes, light cache, ethash_light
from gxcpoold.hashers.ethash_dag import *  # noqa: F401,F403  EthashDAG (full dataset)
from gxcpoold.hashers.targets import *  # noqa: F401,F403  difficulty <-> target, nBits
