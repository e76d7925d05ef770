"""gxcpool: a mining-pool daemon for GXC (GoldXCoin)."""

__version__ = "0.1.0"
