"""The linear chain, its UTXO set and difficulty (spec §3.1-§3.8, §3.10, §3.11).

One chain, no forks (§3.10): the first valid block at height N wins and is
never removed.  ``validate`` is §2.2 check 16 ("Block validation failed"): it
returns a reason for the node's own log, the client never sees it.
"""
import math

from . import wallet
from .model import Block, Transaction, TxOutput, Utxo, sha256_hex, standard_script
from .settings import DevNodeSettings

# §3.11 genesis: fixed fields per network.  The mainnet nonce and coinbase txid
# were not published; the simulator uses fixed stand-ins.
GENESIS_TIME = 1640995200
GENESIS = {
    "testnet": {"nonce": 345, "miner": "tGXC3tz6MsTbP2NCMvc33JixQdkQi6tf",
                "txid": "1cc98c7186b3aea9c7ef5028e4395dcbe612516d05ddc486daa2c28d673a50ef"},
    "mainnet": {"nonce": 0, "miner": "GXC9fab7317231b966af85ac453e168c0932",
                "txid": sha256_hex("gxc mainnet genesis coinbase")},
}
# §3.8 fee-pool address per network
FEE_POOL = {"testnet": "tGXC2a9d9ddb2e9ee658bca1c2ff41ffed99",
            "mainnet": "GXC2a9d9ddb2e9ee658bca1c2ff41ffed99"}
MIN_TX_FEE = 0.001          # §3.8 consensus minimum per tx
FEE_POOL_SHARE = 0.15       # §3.8
AMOUNT_EPSILON = 1e-8       # double rounding slack, as in §3.6 "+1e-8 tolerance"


def leading_zeros(block_hash: str) -> int:
    return len(block_hash) - len(block_hash.lstrip("0"))


def genesis_block(settings: DevNodeSettings, block_hash: str) -> Block:
    fixed = GENESIS[settings.network]
    coinbase = Transaction(
        txid=fixed["txid"], coinbase=True, sender="", recipient="", fee=0.0,
        timestamp=GENESIS_TIME, outputs=[TxOutput(fixed["miner"], settings.block_reward, "")],
        kind="COINBASE", genesis=True)
    return Block(height=0, hash=block_hash, previous_hash="0" * 64, nonce=fixed["nonce"],
                 miner=fixed["miner"], timestamp=GENESIS_TIME, difficulty=settings.floor,
                 transactions=[coinbase], source="genesis")


class Chain:
    def __init__(self, settings: DevNodeSettings, genesis_hash: str):
        self.settings = settings
        self.prefix = settings.prefix
        self.fee_pool = FEE_POOL[settings.network]
        self.blocks: list[Block] = []
        self.utxos: dict[str, Utxo] = {}
        self.funds: list[Utxo] = []           # devnet_fund outputs, kept for replays
        self.by_hash: dict[str, Block] = {}   # so lookups cost the same at any length
        self.work = 0.0                       # sum of block difficulties (getblockchaininfo)
        self.difficulty = settings.floor      # D (§3.2)
        self.connect(genesis_block(settings, genesis_hash))

    # -- heights and difficulty (§3.1, §3.2) ---------------------------------

    @property
    def n(self) -> int:
        """N: stored blocks including genesis = next height = getblockcount (§3.1)."""
        return len(self.blocks)

    @property
    def tip(self) -> Block:
        return self.blocks[-1]

    @property
    def required_difficulty(self) -> float:
        """max(D, F): what submitblock compares against (§2.2 checks 8, 9)."""
        return max(self.difficulty, self.settings.floor)

    @property
    def required_zeros(self) -> int:
        return math.floor(self.required_difficulty)

    def find(self, block_hash: str) -> Block | None:
        return self.by_hash.get(block_hash)

    def retarget(self, difficulty: float, n: int) -> float:
        """D once the chain has n blocks (§3.2): the timing inputs are never fed, so
        every retarget is x1.75, capped."""
        if n % self.settings.retarget_interval == 0:
            return min(difficulty * self.settings.retarget_factor, self.settings.difficulty_cap)
        return difficulty

    # -- rewards and maturity (§3.6, §3.7) -----------------------------------

    def reward(self, height: int) -> float:
        halvings = height // self.settings.halving_interval
        return max(self.settings.block_reward / 2.0 ** min(halvings, 2000), 1e-8)

    def max_coinbase(self, height: int, mempool_fees: float, block_fees: float) -> float:
        """§3.6 consensus maximum; timeBonus taken as 1, no supply cap (§5 item 9)."""
        bonus = 1 + min(0.1, (self.difficulty - 1) / 100)
        return self.reward(height) * bonus + 0.85 * mempool_fees + block_fees + AMOUNT_EPSILON

    def is_mature(self, utxo: Utxo) -> bool:
        """A coinbase output counts when N - h >= M (§3.7); other outputs at once."""
        return not utxo.coinbase or self.n - utxo.height >= self.settings.coinbase_maturity

    def balance(self, address: str, exclude: set[str] = frozenset()) -> float:
        total = 0.0
        for utxo in self.utxos.values():
            if utxo.address == address and self.is_mature(utxo) and utxo.key not in exclude:
                total += utxo.amount
        return total

    # -- transaction rules (shared by block validation and mempool admission) --

    def format_problem(self, tx: Transaction) -> str | None:
        """Rules for every tx incl. coinbases: a txid, and outputs with the network prefix (§4)."""
        if not tx.txid:
            return "transaction with an empty txid"
        for out in tx.outputs:
            if not out.address.startswith(self.prefix):
                return f"output address {out.address!r} lacks the {self.prefix} prefix"
        return None

    def check_transaction(self, tx: Transaction) -> str | None:
        """Why a non-coinbase tx is invalid against the current UTXO set, or None."""
        reason = self.format_problem(tx)
        if reason:
            return reason
        if not tx.inputs:
            return "transaction without inputs"
        first = tx.inputs[0]
        for position, spent in enumerate(tx.inputs):
            utxo = self.utxos.get(f"{spent.tx_hash}_{spent.output_index}")
            if utxo is not None and not self.is_mature(utxo):
                return f"input {spent.tx_hash}:{spent.output_index} spends an immature coinbase"
            if position == 0 and (first.tx_hash != tx.prev_tx_hash
                                  or first.amount != tx.referenced_amount):
                return "traceability rule broken (inputs[0] vs prevTxHash/referencedAmount)"
            if utxo is None:
                return f"input {spent.tx_hash}:{spent.output_index} is not in the UTXO set"
            if abs(utxo.amount - spent.amount) > AMOUNT_EPSILON:
                return f"input amount {spent.amount!r} differs from the UTXO's {utxo.amount!r}"
            if (wallet.address_of(spent.public_key, self.prefix) != utxo.address
                    or not wallet.verify(spent.public_key, tx.signed_message(position),
                                         spent.signature)):
                return f"bad signature on input {position}"
        if tx.fee < MIN_TX_FEE:
            return f"fee {tx.fee!r} below {MIN_TX_FEE}"
        total_in = sum(i.amount for i in tx.inputs)
        total_out = sum(o.amount for o in tx.outputs)
        if total_in + AMOUNT_EPSILON < total_out + tx.fee:
            return "inputs are less than outputs + fee"
        return None

    # -- blocks --------------------------------------------------------------

    def validate(self, block: Block, mempool_fees: float) -> str | None:
        """§2.2 check 16, in the node's order; returns the reason or None."""
        flagged = [i for i, tx in enumerate(block.transactions) if tx.coinbase]
        if flagged != [0]:
            return f"coinbase transactions at positions {flagged}, need exactly one at 0"
        coinbase = block.transactions[0]
        others = block.transactions[1:]
        block_fees = sum(sum(i.amount for i in tx.inputs) - sum(o.amount for o in tx.outputs)
                         for tx in others)
        paid = coinbase.outputs[0].amount if coinbase.outputs else 0.0
        limit = self.max_coinbase(block.height, mempool_fees, block_fees)
        if paid > limit:
            return f"coinbase amount {paid!r} above the consensus maximum {limit!r}"
        if not paid > 0 or not coinbase.outputs or not coinbase.outputs[0].address:
            return "coinbase amount must be > 0 and its address non-empty"
        if block.height < self.n:
            return f"a block at height {block.height} already exists"
        if block.height != self.n:
            return f"height {block.height} is not the next height {self.n}"
        if block.height != 0 and block.previous_hash != self.tip.hash:
            return f"previous hash {block.previous_hash!r} is not the tip {self.tip.hash!r}"
        if (leading_zeros(block.hash) < self.required_zeros
                or abs(block.difficulty - self.required_difficulty) > 0.0001):
            return "difficulty test failed"
        if block.consensus_type == "pos":
            return "PoS block without a valid validator signature (no validators exist)"
        if coinbase.block_height != block.height:
            return f"coinbase block_height {coinbase.block_height} != block height {block.height}"
        for tx in block.transactions:
            reason = self.format_problem(tx)
            if reason:
                return f"tx {tx.txid!r}: {reason}"
        for tx in others:
            # every tx is checked against the UTXO set before the block, so two
            # txs spending the same output in one block both pass (§3.9 point 5)
            reason = self.check_transaction(tx)
            if reason:
                return f"tx {tx.txid}: {reason}"
        return None

    def connect(self, block: Block) -> None:
        """Apply an accepted block: spend inputs, add outputs and fee-pool UTXOs, retarget."""
        for tx in block.transactions:
            for spent in tx.inputs:
                self.utxos.pop(f"{spent.tx_hash}_{spent.output_index}", None)
        for tx in block.transactions:
            script_of = (lambda a: "") if (tx.genesis or not tx.coinbase) else standard_script
            for index, out in enumerate(tx.outputs):
                utxo = Utxo(tx.txid, str(index), out.address, out.amount, block.height,
                            tx.coinbase, script_of(out.address))
                self.utxos[utxo.key] = utxo
            if not tx.coinbase and tx.fee > 0:
                # §3.8: a UTXO created from nothing, keyed "<txid>_pool_fee"
                utxo = Utxo(tx.txid, "pool_fee", self.fee_pool, FEE_POOL_SHARE * tx.fee,
                            block.height, False)
                self.utxos[utxo.key] = utxo
        self.blocks.append(block)
        self.by_hash[block.hash] = block      # a repeated hash finds the newest, as before
        self.work += block.difficulty
        self.difficulty = self.retarget(self.difficulty, self.n)

    def fund(self, utxo: Utxo) -> None:
        """An output created outside consensus (devnet_fund), at the tip's height."""
        self.funds.append(utxo)
        self.utxos[utxo.key] = utxo

    def replay(self) -> None:
        """Rebuild the UTXO set and indexes from the stored blocks (load, restart §3.12).

        Test funds come back at their height, so a later block can spend them again.
        """
        blocks, self.blocks, self.utxos = self.blocks, [], {}
        self.by_hash, self.work = {}, 0.0
        difficulty = self.difficulty
        funds = sorted(self.funds, key=lambda u: u.height)
        for block in blocks:
            while funds and funds[0].height < block.height:
                utxo = funds.pop(0)
                self.utxos[utxo.key] = utxo
            self.connect(block)
        for utxo in funds:
            self.utxos[utxo.key] = utxo
        self.difficulty = difficulty
