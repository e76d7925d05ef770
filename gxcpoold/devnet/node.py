"""The devnet node: chain + mempool + wallet + clock, and the operations behind the RPC.

``DevNode`` holds all state and applies the node's rules; rpc.py only turns
JSON-RPC parameters into calls here and results into the node's JSON shapes.
Tests may call the control operations (mine_other, set_difficulty,
advance_time, restart, fund) directly or through the ``devnet_*`` methods.
"""
import functools
import hashlib
import os
import random
import time

from twisted.logger import Logger

from . import coins, wallet
from .chain import Chain
from .errors import INSUFFICIENT_FUNDS, INTERNAL_ERROR, INVALID_PARAMETER, WALLET_ERROR, RpcError
from .mempool import Mempool
from .model import (Block, Transaction, TxInput, TxOutput, Utxo, as_dict, sha256_hex,
                    standard_script)
from .settings import DevNodeSettings
from .submission import ChainView, Rejected, parse_block
from .views import template_tx

log = Logger(namespace="gxcpoold.devnode")

CHANGE_DUST = 1e-8          # §2.1: change output only if > 1e-8


@functools.cache
def _other_miner_address(prefix: str) -> str:
    """The "other miner"'s fixed address (an EC multiplication: ~10 ms, so computed once)."""
    return wallet.address_of(wallet.public_key(hashlib.sha256(b"other miner").digest()), prefix)


class DevNode:
    def __init__(self, settings: DevNodeSettings, clock=None, state: dict | None = None):
        self.settings = settings
        self._clock = clock or time.time
        self.time_shift = 0.0       # devnet_advancetime
        self.generation = 0         # how many times the "data dir" was wiped (§3.12)
        self.epoch = 0              # restarts so far: salts recomputed txids (§3.12)
        self.last_tx_hash = ""      # id of the wallet's last send, kept in the wallet file (§6.2)
        self.mempool = Mempool()
        if state is None:
            self._fresh_start()
        else:
            self._load(state)

    # -- lifecycle -----------------------------------------------------------

    def _seeded_rng(self) -> random.Random:
        seed = self.settings.genesis_seed
        if seed is None:
            return random.Random(os.urandom(32))
        return random.Random(f"{seed}|{self.generation}|{self.epoch}")

    def _fresh_start(self) -> None:
        """An empty data dir: new wallet, genesis with a new random hash (§3.11)."""
        self.rng = self._seeded_rng()
        self.wallet = wallet.NodeWallet(self.rng.getrandbits(256).to_bytes(32, "big"),
                                        self.settings.prefix)
        self.chain = Chain(self.settings, self.random_hex())
        self.mempool = Mempool()
        self.last_tx_hash = ""

    def random_hex(self) -> str:
        return f"{self.rng.getrandbits(256):064x}"

    def now(self) -> int:
        """Node clock: host clock + clock_offset + devnet_advancetime (§3.4)."""
        return int(self._clock() + self.settings.clock_offset + self.time_shift)

    def housekeeping(self) -> None:
        """The node's main loop, run lazily before each request: mempool expiry (§3.9)."""
        gone = self.mempool.expire(self.now(), self.settings.mempool_expiry)
        if gone:
            log.info("devnode: {count} mempool tx(s) expired", count=len(gone))

    # -- mining (§2.1, §2.2) ---------------------------------------------------

    def coinbase_for(self, address: str) -> Transaction:
        """The template coinbase: a new random txid on every call (§2.1)."""
        height, reward = self.chain.n, self.chain.reward(self.chain.n)
        return Transaction(txid=self.random_hex(), coinbase=True, sender="", recipient=address,
                           fee=0.0, timestamp=self.now(), kind="COINBASE", block_height=height,
                           outputs=[TxOutput(address, reward, standard_script(address))])

    def chain_view(self) -> ChainView:
        return ChainView(n=self.chain.n, required_difficulty=self.chain.required_difficulty,
                         now=self.now(), nonce_truncation=self.settings.nonce_truncation,
                         txid_rewrite=self.settings.txid_rewrite, txid_salt=f"mined|{self.epoch}")

    def submit(self, params, source: str = "pool") -> None:
        """submitblock: checks 0-15 (submission.py), then 16 (chain.validate)."""
        block = parse_block(params, self.chain_view())
        block.source = source
        reason = self.chain.validate(block, self.mempool.total_fees())
        if reason:
            log.info("devnode: block {height} rejected from {source}: Block validation failed "
                     "({reason})", height=block.height, source=source, reason=reason)
            raise Rejected("Block validation failed")
        self.chain.connect(block)
        self._after_block(block)
        log.info("devnode: block {height} accepted hash={short}… from {source} "
                 "(N={n}, D={d})", height=block.height, short=block.hash[:16], source=source,
                 n=self.chain.n, d=self.chain.difficulty)

    def _after_block(self, block: Block) -> None:
        # The node purges its mempool by id; mined txs got a new id (§3.9 point 4),
        # so nothing matches unless txid_rewrite is off.
        mined = {tx.txid for tx in block.transactions}
        self.mempool.keep_only(lambda tx: tx.txid not in mined)
        if not self.settings.stale_mempool:
            self.mempool.keep_only(self._inputs_unspent)

    def _inputs_unspent(self, tx: Transaction) -> bool:
        return all(f"{i.tx_hash}_{i.output_index}" in self.chain.utxos for i in tx.inputs)

    # -- wallet (§2.10-§2.13) --------------------------------------------------

    def balance(self, address: str) -> float:
        """getbalance: mature UTXOs minus those spent by any mempool tx (§2.10)."""
        return self.chain.balance(address, self.mempool.spent_keys())

    def pending_balance(self, address: str) -> float:
        """getpendingbalance: mempool outputs to the address not spent in the mempool (§2.11)."""
        spent = self.mempool.spent_keys()
        total = 0.0
        for tx in self.mempool.txs.values():
            for index, out in enumerate(tx.outputs):
                if out.address == address and f"{tx.txid}_{index}" not in spent:
                    total += out.amount
        return total

    def unspent(self, address: str | None) -> list[Utxo]:
        """listunspent: mature UTXOs, mempool spends ignored (§2.12)."""
        return [u for u in self.chain.utxos.values()
                if (address is None or u.address == address) and self.chain.is_mature(u)]

    def send(self, to: str, amount: float, sender: str | None) -> str:
        """sendtoaddress after parameter parsing: the checks from "from not controlled" on."""
        sender = sender if sender is not None else self.wallet.address
        if sender != self.wallet.address:
            raise RpcError(INVALID_PARAMETER, (
                f"Wallet does not control address: {sender}. RECOMMENDED: Use "
                "'sendrawtransaction' with a client-signed transaction for decentralized "
                "operation. See THIRD_PARTY_WALLET_GUIDE.md. Alternative: Import private key "
                "using 'importprivkey' (not recommended for security)."))
        fee = self.mempool.fee()
        available = self.balance(sender)
        if available < amount + fee:
            raise RpcError(INSUFFICIENT_FUNDS, (
                f"Insufficient funds. Required: {amount + fee:f} GXC (amount: {amount:f} + fee: "
                f"{fee:f}), Available at {sender[:20]}...: {available:f} GXC"))
        # §6.2 (coins.py); §3.9 point 5: the mempool is ignored (double_spend quirk)
        busy = set() if self.settings.double_spend else self.mempool.spent_keys()
        candidates = [u for u in self.unspent(sender) if u.key not in busy and u.index.isdigit()]
        chosen, total = coins.select(candidates, self.last_tx_hash, amount + fee)
        if total < amount + fee:
            raise RpcError(WALLET_ERROR, "Transaction creation failed: not enough spendable outputs")
        inputs = [TxInput(u.txid, int(u.index), u.amount, self.wallet.public_key) for u in chosen]
        change = total - amount - fee
        outputs = [TxOutput(to, amount, "")]
        if change > CHANGE_DUST:
            outputs.append(TxOutput(sender, change, ""))
        tx = Transaction(txid="", coinbase=False, sender=sender, recipient=to, fee=fee,
                         timestamp=self.now(), inputs=inputs, outputs=outputs, kind="NORMAL",
                         referenced_amount=inputs[0].amount, prev_tx_hash=inputs[0].tx_hash)
        for position, spent in enumerate(tx.inputs):
            spent.signature = self.wallet.sign(tx.signed_message(position))
        tx.txid = tx.content_id(f"mempool|{self.random_hex()}")
        reason = self.chain.check_transaction(tx)
        if reason:
            log.info("devnode: sendtoaddress refused by the mempool: {reason}", reason=reason)
            raise RpcError(INTERNAL_ERROR, "Failed to add transaction to pool")
        self.mempool.add(tx)
        self.last_tx_hash = tx.txid      # the wallet file's lastTxHash (§6.2)
        log.info("devnode: mempool tx {txid} {amount} GXC to {to} (fee {fee})",
                 txid=tx.txid, amount=amount, to=to, fee=fee)
        return tx.txid

    # -- test-only controls (devnet_* methods, §5 item 17) ----------------------

    def other_miner_address(self) -> str:
        return _other_miner_address(self.settings.prefix)

    def mine_other(self, address: str | None = None, include_mempool: bool = False) -> str:
        """Append a valid block at height N without the pool; returns its hash."""
        zeros = self.chain.required_zeros
        if zeros > 64:
            raise RpcError(INTERNAL_ERROR, f"cannot mine: {zeros} leading zeros required")
        block_hash = ("0" * zeros + self.random_hex())[:64]
        coinbase = self.coinbase_for(address or self.other_miner_address())
        txs = [coinbase]
        if include_mempool:
            txs += [tx for tx in self.mempool.listed() if not self.chain.check_transaction(tx)]
        block = {"height": self.chain.n, "hash": block_hash,
                 "previousblockhash": self.chain.tip.hash, "nonce": self.rng.randrange(2**31),
                 "miner": address or self.other_miner_address(), "timestamp": self.now(),
                 "difficulty": self.chain.required_difficulty,
                 # the other miner copies the template, like a pool
                 "transactions": [template_tx(tx) for tx in txs]}
        try:
            self.submit([block], source="other miner")
        except Rejected as exc:
            raise RpcError(INTERNAL_ERROR, f"Failed to submit block: {exc}") from None
        return block_hash

    def fund(self, address: str, amount: float) -> str:
        """Create a spendable UTXO out of nothing (outside consensus; tests only)."""
        txid = sha256_hex(f"devnet_fund|{self.random_hex()}")
        self.chain.fund(Utxo(txid, "0", address, amount, self.chain.tip.height, False))
        return txid

    def set_difficulty(self, difficulty: float) -> None:
        self.chain.difficulty = difficulty

    def advance_time(self, seconds: float) -> int:
        self.time_shift += seconds
        self.housekeeping()
        return self.now()

    def restart(self) -> dict:
        """§3.12 restart effects (only with restart_emulation on)."""
        if not self.settings.restart_emulation:
            return {"emulated": False, "wiped": False, "blocks": self.chain.n}
        floor = self.settings.floor
        if any(abs(b.difficulty - floor) > 0.0001 for b in self.chain.blocks):
            # The real node refuses to start ("Existing blockchain is invalid"); the
            # operator's only recovery is wiping the data dir: a new genesis, N = 1.
            log.warn("devnode: Existing blockchain is invalid (stored blocks claim D != F); "
                     "wiping the data dir: new genesis")
            self.generation += 1
            self.epoch = 0
            self._fresh_start()
            return {"emulated": True, "wiped": True, "blocks": self.chain.n}
        self.epoch += 1
        self.rng = self._seeded_rng()
        for block in self.chain.blocks:
            for tx in block.transactions:
                if not tx.genesis:
                    tx.txid = sha256_hex(f"restart|{self.epoch}|{tx.txid}")
        # spends refer to the old ids, so every spent output reappears
        self.chain.replay()
        self.chain.difficulty = floor
        self.mempool.keep_only(self._inputs_unspent)
        log.info("devnode: restart emulated: txids recomputed, D reset to {floor}", floor=floor)
        return {"emulated": True, "wiped": False, "blocks": self.chain.n}

    # -- persistence (state.py writes the header and the block log) -------------

    @property
    def history(self) -> str:
        """Names the chain's history: it changes when stored blocks change (restart, wipe)."""
        return f"g{self.generation}-e{self.epoch}"

    def to_state(self) -> dict:
        """Everything but the blocks (state.StateWriter keeps those in a log)."""
        return {
            "network": self.settings.network, "secret": self.wallet.secret.hex(),
            "generation": self.generation, "epoch": self.epoch, "time_shift": self.time_shift,
            "difficulty": self.chain.difficulty, "floor": self.settings.floor,
            "last_tx_hash": self.last_tx_hash, "funds": [as_dict(u) for u in self.chain.funds],
            "mempool": [as_dict(t) for t in self.mempool.txs.values()],
        }

    def _load(self, state: dict) -> None:
        if state.get("network") != self.settings.network:
            raise ValueError(f"devnet setting 'state_file': the file holds a "
                             f"{state.get('network')} chain, settings say {self.settings.network}")
        self.generation, self.epoch = state["generation"], state["epoch"]
        self.time_shift = state["time_shift"]
        self.last_tx_hash = state.get("last_tx_hash", "")
        self.rng = self._seeded_rng()
        self.wallet = wallet.NodeWallet(bytes.fromhex(state["secret"]), self.settings.prefix)
        blocks = [Block.from_dict(b) for b in state["blocks"]]
        self.chain = Chain(self.settings, blocks[0].hash)
        self.chain.blocks = blocks
        self.chain.funds = [Utxo(**u) for u in state.get("funds", [])]
        self.chain.replay()
        if "utxos" in state:
            # format 1 stored the UTXO set itself (test funds included)
            self.chain.utxos = {}
            for data in state["utxos"]:
                utxo = Utxo(**data)
                self.chain.utxos[utxo.key] = utxo
        # D as saved, then any retarget among blocks the log holds beyond the header's count
        difficulty = state["difficulty"]
        for n in range(state.get("block_count", len(blocks)) + 1, len(blocks) + 1):
            difficulty = self.chain.retarget(difficulty, n)
        if state.get("floor", self.settings.floor) != self.settings.floor:
            # [devnet] difficulty was changed between runs: the chain goes on at the new one
            log.info("devnode: difficulty {old} -> {new} (setting changed since the last run)",
                     old=difficulty, new=self.settings.floor)
            difficulty = self.settings.floor
        self.chain.difficulty = difficulty
        for data in state["mempool"]:
            self.mempool.add(Transaction.from_dict(data))
        self.restart()
