"""submitblock checks 0-15 and the rebuild of submitted transactions (spec §2.2).

The order of the checks is the node's; the first failing one decides the
message.  Check 16 (the chain's own validation) lives in chain.Chain.validate.
Type errors of the JSON library (checks 1b, 2, 14) propagate as JsonError and
are flattened to -32603 by the dispatcher.
"""
import math
from dataclasses import dataclass

from . import nodejson as nj
from .chain import leading_zeros
from .errors import RpcError
from .model import Block, Transaction, TxInput, TxOutput, standard_script

HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
MAX_FUTURE_HEIGHT = 1000        # check 7
MAX_FUTURE_SECONDS = 7200       # check 11 / §3.4
MAX_PAST_SECONDS = 86400        # check 11 / §3.4


class Rejected(Exception):
    """A submitblock failure; str() is the reason after "Failed to submit block: "."""


@dataclass
class ChainView:
    """What the checks need to know about the node at submission time."""
    n: int
    required_difficulty: float
    now: int
    nonce_truncation: bool
    txid_rewrite: bool
    txid_salt: str


def _read(obj: dict, read_order: tuple[str, ...], main: str, getter, default):
    """Read every alias in the node's order (a wrongly typed alias fails even when
    the main key is fine); the main key wins, then the aliases as listed in §2.2."""
    found = {key: nj.value(obj, key, None, getter) for key in read_order}
    for key in (main,) + tuple(k for k in reversed(read_order) if k != main):
        if found[key] is not None:
            return found[key]
    return default


def _alias(obj: dict, keys: tuple[str, ...], getter, default):
    """Read only the first present key (tx fields: "hash" else "txid")."""
    for key in keys:
        if key in obj:
            return nj.value(obj, key, default, getter)
    return default


def parse_block(params, view: ChainView) -> Block:
    # check 0: the only deliberate parameter error, code -8 and not prefixed
    if nj.size(params) == 0:
        raise RpcError(-8, "Missing block data parameter")
    data = nj.index(params, 0)
    # check 1
    if not isinstance(data, (dict, str)):
        raise Rejected("Invalid block data format - must be JSON object or string")
    # check 1b: a string is parsed; if that fails the string itself is kept, and
    # reading a key of a non-object raises "cannot use value() with string"
    if isinstance(data, str):
        try:
            data = nj.parse(data.encode("utf-8", "surrogateescape"))
        except nj.JsonError:
            pass
    # check 2: keys in the node's read order (heights as uint64, nonce as int32)
    nonce_getter = nj.get_int32 if view.nonce_truncation else nj.get_int64
    height = _read(data, ("blockNumber", "height"), "height", nj.get_uint64, 0)
    block_hash = _read(data, ("blockHash", "hash"), "hash", nj.get_string, "")
    previous = _read(data, ("previousHash", "prevHash", "previousblockhash"),
                     "previousblockhash", nj.get_string, "")
    nonce = nj.value(data, "nonce", 0, nonce_getter)
    miner = _read(data, ("miner_address", "miner"), "miner", nj.get_string, "")
    timestamp = nj.value(data, "timestamp", view.now, nj.get_int64)
    difficulty = nj.value(data, "difficulty", 1.0, nj.get_number)
    required = view.required_difficulty

    if not block_hash:                                                      # check 3
        raise Rejected("Block hash is required")
    hash_length = len(block_hash.encode("utf-8", "surrogateescape"))
    if hash_length != 64:                                                   # check 4
        raise Rejected(f"Invalid hash length: expected 64 hex characters, got {hash_length}")
    if not set(block_hash) <= HEX_DIGITS:                                   # check 5
        raise Rejected("Invalid hash format: contains non-hexadecimal characters")
    if previous and len(previous.encode("utf-8", "surrogateescape")) != 64:  # check 6
        raise Rejected("Invalid previous hash length: expected 64 hex characters")
    if height > view.n + MAX_FUTURE_HEIGHT:                                 # check 7
        raise Rejected(f"Block height too far in future: {height} (current: {view.n})")
    zeros, needed = leading_zeros(block_hash), math.floor(required)
    if zeros < needed:                                                      # check 8
        raise Rejected(f"Block does not meet difficulty target. Hash has {zeros} leading zeros, "
                       f"requires {needed}")
    if abs(difficulty - required) > 0.0001:                                 # check 9
        raise Rejected(f"Block difficulty mismatch. Network requires {required:.6f}")
    if height < view.n:                                                     # check 10
        raise Rejected("Stale block")
    if timestamp > view.now + MAX_FUTURE_SECONDS:                           # check 11
        raise Rejected("Block timestamp too far in future")
    if timestamp < view.now - MAX_PAST_SECONDS:
        raise Rejected("Block timestamp too far in past")
    if difficulty <= 0 or difficulty > 1e6:                                 # check 12
        raise Rejected(f"Invalid difficulty: {difficulty:f} (must be between 0 and 1000000)")
    miner_length = len(miner.encode("utf-8", "surrogateescape"))
    if miner and not 26 <= miner_length <= 62:                              # check 13
        raise Rejected("Invalid miner address length")
    # check 14: consensus label and transaction fields
    if "consensus_type" in data:
        consensus = nj.value(data, "consensus_type", "", nj.get_string)
    else:
        consensus = nj.value(data, "block_type", "", nj.get_string)
    label = consensus if consensus in ("pos", "pow_ethash") else "pow_sha256"
    entries = data.get("transactions")
    entries = [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    transactions, flagged = [], False
    for entry in entries:
        tx, claims_coinbase = rebuild_transaction(entry, view)
        transactions.append(tx)
        flagged = flagged or claims_coinbase
    if not flagged:                                                         # check 15
        raise Rejected("Block missing coinbase transaction. Every block must have exactly one "
                       "coinbase at index 0.")
    return Block(height=height, hash=block_hash, previous_hash=previous, nonce=nonce,
                 miner=miner, timestamp=timestamp, difficulty=difficulty,
                 transactions=transactions, consensus_type=label)


def rebuild_transaction(entry: dict, view: ChainView) -> tuple[Transaction, bool]:
    """Rebuild one submitted tx as the node does; also say if it passes check 15."""
    if "is_coinbase" in entry:
        is_coinbase = nj.value(entry, "is_coinbase", False, nj.get_bool)
    else:
        is_coinbase = nj.value(entry, "coinbase", False, nj.get_bool)
    kind = nj.value(entry, "type", "", nj.get_string)
    txid = _alias(entry, ("hash", "txid"), nj.get_string, "")
    # a tx with only "type":"coinbase" passes check 15 but is not rebuilt as one
    claims = is_coinbase or kind.lower() == "coinbase"
    if is_coinbase:
        return _rebuild_coinbase(entry, txid, view), claims
    return _rebuild_transfer(entry, txid, kind, view), claims


def _rebuild_coinbase(entry: dict, txid: str, view: ChainView) -> Transaction:
    """Only outputs[0] survives; the txid is kept verbatim (§2.2, §3.5)."""
    outputs = entry.get("outputs")
    if isinstance(outputs, list) and outputs:
        source = outputs[0]
        address = nj.value(source, "address", "", nj.get_string)
        amount = _alias(source, ("amount", "value"), nj.get_number, 0.0)
    else:
        address = nj.value(entry, "to", "", nj.get_string)
        amount = _alias(entry, ("value", "amount"), nj.get_number, 0.0)
    claimed = _alias(entry, ("block_height", "blockHeight", "height"), nj.get_uint64, 0)
    return Transaction(txid=txid, coinbase=True, sender="", recipient=address, fee=0.0,
                       timestamp=view.now, kind="COINBASE", block_height=claimed,
                       outputs=[TxOutput(address, amount, standard_script(address))])


def _rebuild_transfer(entry: dict, txid: str, kind: str, view: ChainView) -> Transaction:
    """Rebuilt from its JSON; the node then computes a new txid (§3.9 point 3)."""
    inputs = []
    for item in entry.get("inputs") if isinstance(entry.get("inputs"), list) else []:
        if isinstance(item, dict):
            inputs.append(TxInput(
                tx_hash=_alias(item, ("txHash", "txid", "prev_tx_hash"), nj.get_string, ""),
                output_index=_alias(item, ("outputIndex", "vout", "output_index"),
                                    nj.get_uint64, 0),
                amount=nj.value(item, "amount", 0.0, nj.get_number),
                public_key=nj.value(item, "publicKey", "", nj.get_string),
                signature=nj.value(item, "signature", "", nj.get_string)))
    outputs = []
    for item in entry.get("outputs") if isinstance(entry.get("outputs"), list) else []:
        if isinstance(item, dict):
            outputs.append(TxOutput(
                address=nj.value(item, "address", "", nj.get_string),
                amount=_alias(item, ("amount", "value"), nj.get_number, 0.0),
                script=nj.value(item, "script", "", nj.get_string)))
    first_hash = inputs[0].tx_hash if inputs else ""
    tx = Transaction(
        txid=txid, coinbase=False,
        sender=nj.value(entry, "from", "", nj.get_string),
        recipient=nj.value(entry, "to", "", nj.get_string),
        fee=nj.value(entry, "fee", 0.0, nj.get_number),
        timestamp=nj.value(entry, "timestamp", view.now, nj.get_int64),
        inputs=inputs, outputs=outputs,
        kind=kind if kind in ("NORMAL", "STAKE", "UNSTAKE") else "NORMAL",
        # the template's "amount" is the first input's amount: the traceability value
        referenced_amount=nj.value(entry, "amount", 0.0, nj.get_number),
        prev_tx_hash=_alias(entry, ("prevTxHash", "prev_tx_hash"), nj.get_string, first_hash))
    if view.txid_rewrite:
        tx.txid = tx.content_id(view.txid_salt)
    return tx
