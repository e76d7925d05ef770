"""The one Python surface for proof-of-work hashing.

Every part of the pool and every test imports hash functions from here.  The
work is done in C (native/, compiled into gxcpoold._native by cffi); the
modules under gxcpoold/hashers/ wrap one family each and this module only
gathers their public names.
"""
