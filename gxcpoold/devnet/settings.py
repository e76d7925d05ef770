"""Knobs of the devnet node (spec/gxc-node.md §5, "Worth making configurable").

Every default reproduces the real GXC node.  The pool's configuration loader
fills this dataclass from a TOML ``[devnet]`` table by field name and checks
values against each field's annotation, so annotations stay simple.
"""
import dataclasses
import math
import typing
from dataclasses import dataclass

NETWORKS = ("testnet", "mainnet")

# §1.1 / §3.2 / §3.7 / §3.8 / §3.11 / §4: what changes with the network.
NETWORK_FLOOR = {"testnet": 1.0, "mainnet": 1000.0}
NETWORK_MATURITY = {"testnet": 6, "mainnet": 100}
NETWORK_PREFIX = {"testnet": "tGXC", "mainnet": "GXC"}
NETWORK_CHAIN = {"testnet": "test", "mainnet": "main"}
NETWORK_DIFFICULTY_CAP = {"testnet": 10_000.0, "mainnet": 1e7}


@dataclass(frozen=True)
class DevNodeSettings:
    network: str = "testnet"              # "testnet" (tGXC, F=1, M=6) or "mainnet" (GXC, F=1000, M=100)
    difficulty: float | None = None       # initial D and floor F; None = the network floor (§3.2)
    retarget_interval: int = 2016         # D changes when N becomes a multiple of this (§3.2)
    retarget_factor: float = 1.75         # D is multiplied by this at each retarget (§3.2)
    maturity: int | None = None           # coinbase maturity M; None = network default 6/100 (§3.7)
    block_reward: float = 50.0            # GXC per block before halvings (§3.6)
    halving_interval: int = 1_051_200     # blocks between reward halvings (§3.6)
    other_miner_interval: float = 0.0     # seconds between "other miner" blocks; 0 = off (§5 item 17)
    clock_offset: float = 0.0             # seconds added to the host clock (§3.4 window tests)
    request_limit: int = 8191             # bytes of the single read (§1.2)
    single_read: bool = True              # emulate the node's one-read transport (§1.2)
    request_latency: float = 0.0          # seconds each answer waits; the real node ~0.010 (§6.1)
    mempool_expiry: float = 3600.0        # seconds until an unmined tx leaves the mempool (§3.9)
    txid_rewrite: bool = True             # mined txs get a new txid t' (§3.9 point 3)
    stale_mempool: bool = True            # mined txs stay in the mempool and poison blocks (§3.9 point 4)
    double_spend: bool = True             # coin selection ignores the mempool (§3.9 point 5)
    fabricated_getblock: bool = True      # unknown hash/height gives an invented block (§2.6)
    listunspent_crash: bool = True        # listunspent [] -> "Internal error: stoul" (§2.12)
    nonce_truncation: bool = True         # nonce stored as signed 32-bit (§2.2)
    restart_emulation: bool = False       # restarts recompute txids etc. (§3.12)
    genesis_seed: str | None = None       # fixed seed = reproducible genesis, wallet, txids; None = random
    state_file: str | None = None         # JSON file keeping the node across restarts; None = memory only

    def __post_init__(self) -> None:
        def fail(field: str, why: str) -> None:
            raise ValueError(f"devnet setting {field!r}: {why}")

        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            allowed = typing.get_args(f.type) or (f.type,)
            if value is None:
                if type(None) not in allowed:
                    fail(f.name, "must be set")
                continue
            if bool in allowed:
                if not isinstance(value, bool):
                    fail(f.name, f"must be true or false, got {value!r}")
            elif int in allowed:
                if isinstance(value, bool) or not isinstance(value, int):
                    fail(f.name, f"must be an integer, got {value!r}")
            elif float in allowed:
                # TOML writes 2 for 2.0; accept integers and store floats.
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    fail(f.name, f"must be a number, got {value!r}")
                if not math.isfinite(value):
                    fail(f.name, f"must be finite, got {value!r}")
                object.__setattr__(self, f.name, float(value))
            elif str in allowed and not isinstance(value, str):
                fail(f.name, f"must be a string, got {value!r}")

        if self.network not in NETWORKS:
            fail("network", f"must be one of {', '.join(NETWORKS)}, got {self.network!r}")
        if self.difficulty is not None and not 0 < self.difficulty <= 1e6:
            fail("difficulty", "must be > 0 and <= 1000000")
        if self.retarget_interval < 1:
            fail("retarget_interval", "must be >= 1")
        if self.retarget_factor <= 0:
            fail("retarget_factor", "must be > 0")
        if self.maturity is not None and self.maturity < 0:
            fail("maturity", "must be >= 0")
        if self.block_reward <= 0:
            fail("block_reward", "must be > 0")
        if self.halving_interval < 1:
            fail("halving_interval", "must be >= 1")
        if self.other_miner_interval < 0:
            fail("other_miner_interval", "must be >= 0 (0 = off)")
        if self.request_limit < 64:
            fail("request_limit", "must be >= 64 bytes")
        if not 0 <= self.request_latency <= 10:
            fail("request_latency", "must be from 0 to 10 seconds")
        if self.mempool_expiry <= 0:
            fail("mempool_expiry", "must be > 0 seconds")
        if self.state_file == "":
            fail("state_file", "must be a path or absent")

    @property
    def floor(self) -> float:
        """F: the network floor, or the configured difficulty (§3.2)."""
        if self.difficulty is not None:
            return self.difficulty
        return NETWORK_FLOOR[self.network]

    @property
    def coinbase_maturity(self) -> int:
        """M (§3.7)."""
        if self.maturity is not None:
            return self.maturity
        return NETWORK_MATURITY[self.network]

    @property
    def prefix(self) -> str:
        """Address prefix of the network (§4)."""
        return NETWORK_PREFIX[self.network]

    @property
    def chain_name(self) -> str:
        """getblockchaininfo `chain` (§2.9)."""
        return NETWORK_CHAIN[self.network]

    @property
    def difficulty_cap(self) -> float:
        """Retargets never raise D above this (§3.2)."""
        return NETWORK_DIFFICULTY_CAP[self.network]
