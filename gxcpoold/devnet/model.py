"""Plain records of the devnet node: transactions, blocks, unspent outputs.

Amounts are Python floats on purpose: the real node computes with C++ doubles
and its wire values show it (e.g. ``3.0002699999999995``, spec §1.3), so the
simulator does the same arithmetic to print the same numbers.
"""
import dataclasses
import hashlib
from dataclasses import dataclass, field


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def standard_script(address: str) -> str:
    """Script text of coinbase outputs (§2.1)."""
    return f"OP_DUP OP_HASH160 {address} OP_EQUALVERIFY OP_CHECKSIG"


@dataclass
class TxInput:
    tx_hash: str
    output_index: int
    amount: float
    public_key: str = ""
    signature: str = ""


@dataclass
class TxOutput:
    address: str
    amount: float
    script: str = ""


@dataclass
class Transaction:
    txid: str
    coinbase: bool
    sender: str                 # "" for coinbases
    recipient: str
    fee: float
    timestamp: int
    inputs: list[TxInput] = field(default_factory=list)
    outputs: list[TxOutput] = field(default_factory=list)
    kind: str = "NORMAL"        # template spelling: COINBASE, NORMAL, STAKE, UNSTAKE
    block_height: int = 0       # coinbase: the height it claims (§3.5)
    referenced_amount: float = 0.0   # traceability (§2.2 check 16)
    prev_tx_hash: str = ""
    genesis: bool = False

    @property
    def first_input_amount(self) -> float:
        return self.inputs[0].amount if self.inputs else 0.0

    def signed_message(self, input_index: int) -> str:
        """What each input's signature covers: the input and every output."""
        spent = self.inputs[input_index]
        outs = ";".join(f"{o.address}:{o.amount!r}" for o in self.outputs)
        return f"{spent.tx_hash}:{spent.output_index}:{spent.amount!r}|{outs}|{self.fee!r}"

    def content_id(self, salt: str) -> str:
        """A txid computed from the content, as the node recomputes ids (§3.9 point 3)."""
        ins = ";".join(f"{i.tx_hash}:{i.output_index}:{i.amount!r}" for i in self.inputs)
        outs = ";".join(f"{o.address}:{o.amount!r}" for o in self.outputs)
        return sha256_hex(f"{salt}|{self.sender}|{self.recipient}|{self.fee!r}|"
                          f"{self.timestamp}|{ins}|{outs}")

    @classmethod
    def from_dict(cls, data: dict) -> "Transaction":
        data = dict(data)
        data["inputs"] = [TxInput(**i) for i in data["inputs"]]
        data["outputs"] = [TxOutput(**o) for o in data["outputs"]]
        return cls(**data)


@dataclass
class Block:
    height: int
    hash: str
    previous_hash: str
    nonce: int
    miner: str
    timestamp: int
    difficulty: float
    transactions: list[Transaction]
    consensus_type: str = "pow_sha256"
    source: str = "pool"        # who produced it, for the log line only

    @classmethod
    def from_dict(cls, data: dict) -> "Block":
        data = dict(data)
        data["transactions"] = [Transaction.from_dict(t) for t in data["transactions"]]
        return cls(**data)


@dataclass
class Utxo:
    txid: str
    index: str                  # "0", "1", … or "pool_fee" (§3.8)
    address: str
    amount: float
    height: int                 # height of the creating block
    coinbase: bool
    script: str = ""

    @property
    def key(self) -> str:
        return f"{self.txid}_{self.index}"


def as_dict(record) -> dict:
    return dataclasses.asdict(record)
