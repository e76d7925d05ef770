"""The node's JSON result shapes (spec §2.1, §2.6, §2.8, §2.9, §2.12, §2.15, §2.18).

Pure functions from records to JSON-ready dicts; key order does not matter
because nodejson.dumps sorts keys like the real node.  Every amount is a
Python float so it prints as a JSON double (``50.0``).
"""
import hashlib

from .model import Block, Transaction, Utxo, sha256_hex

BITS = "1d00ffff"                                    # §2.1: constant, meaningless
TARGET = "00000000ffff" + "0" * 52                   # §2.1: constant, meaningless
# §2.6: the node prints uninitialised doubles for these; any tiny float will do
GARBAGE_REWARD = 6.95e-310
GARBAGE_FEEBURNRATE = 6.9e-310


# -- templates (§2.1) ----------------------------------------------------------

def _template_output(out) -> dict:
    return {"address": out.address, "amount": out.amount, "script": out.script}


def template_tx(tx: Transaction) -> dict:
    """A transaction as listed in getblocktemplate (coinbase or mempool tx)."""
    common = {"hash": tx.txid, "txid": tx.txid, "from": tx.sender, "to": tx.recipient,
              "fee": tx.fee, "timestamp": tx.timestamp, "is_coinbase": tx.coinbase,
              "coinbase": tx.coinbase, "outputs": [_template_output(o) for o in tx.outputs]}
    if tx.coinbase:
        return {**common, "type": "COINBASE", "amount": tx.outputs[0].amount, "inputs": [],
                "block_height": tx.block_height, "blockHeight": tx.block_height}
    inputs = [{"amount": i.amount, "outputIndex": i.output_index, "publicKey": i.public_key,
               "signature": i.signature, "txHash": i.tx_hash, "txid": i.tx_hash,
               "vout": i.output_index} for i in tx.inputs]
    # "amount" is the first input's amount, not the amount paid (§2.1)
    return {**common, "type": tx.kind, "amount": tx.first_input_amount, "inputs": inputs}


def block_template(node, coinbase: Transaction) -> dict:
    chain = node.chain
    reward = chain.reward(chain.n)
    now = node.now()
    return {
        "version": 1, "previousblockhash": chain.tip.hash, "height": chain.n,
        "difficulty": chain.difficulty,
        "transactions": [template_tx(coinbase)] + [template_tx(t) for t in node.mempool.listed()],
        "coinbasevalue": int(reward * 1e8), "coinbase_value": reward, "block_reward": reward,
        "reward": reward, "curtime": now, "mintime": now, "bits": BITS, "target": TARGET,
        "noncerange": "00000000ffffffff", "sigoplimit": 20000, "sizelimit": 1000000,
        "mutable": [], "coinbaseaux": {},
        # "pos" needs an active validator (§2.1); the simulator has none
        "consensus_type": "pow", "block_type": "pow",
    }


# -- blocks and their transactions (§2.6) --------------------------------------

def merkle_root(txids: list[str]) -> str:
    """§2.6: pairwise H(a||b) over the hex text, H = sha256 of the hex of sha256."""
    if not txids:
        return ""
    level = list(txids)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [sha256_hex(hashlib.sha256((a + b).encode()).hexdigest())
                 for a, b in zip(level[::2], level[1::2])]
    return level[0]


def block_tx(block: Block, tx: Transaction) -> dict:
    kind = "coinbase" if tx.coinbase else "transfer"
    if tx.genesis:
        prev = ""
    elif tx.coinbase:
        prev = "0"
    else:
        prev = tx.prev_tx_hash
    inputs = [{"amount": i.amount, "outputIndex": i.output_index,
               "output_index": i.output_index, "prev_tx_hash": i.tx_hash,
               "publicKey": i.public_key, "signature": i.signature, "txHash": i.tx_hash}
              for i in tx.inputs]
    outputs = [{"address": o.address, "amount": o.amount, "value": o.amount, "script": o.script}
               for o in tx.outputs]
    return {
        "txid": tx.txid, "hash": tx.txid, "blockheight": block.height, "blockhash": block.hash,
        "coinbase": tx.coinbase, "from": "coinbase" if tx.coinbase else tx.sender,
        "to": "" if tx.genesis else tx.recipient,
        "amount": sum((o.amount for o in tx.outputs), 0.0),   # incl. change (§2.6)
        "fee": tx.fee, "time": tx.timestamp, "prevtxhash": prev,
        "referencedamount": tx.referenced_amount, "traceabilityvalid": True, "memo": "",
        "locktime": 0, "goldBacked": False, "popreference": "",
        "signature": tx.inputs[0].signature if tx.inputs else "",
        "contract_address": "", "contractAddress": "",
        "tx_type": kind, "transaction_type": kind, "type": kind,
        "inputs": inputs, "vin": inputs, "outputs": outputs, "vout": outputs,
    }


def confirmations(n: int, height: int) -> int:
    """§2.6: N - height below N, else 1."""
    return n - height if height < n else 1


def block_result(node, block: Block, verbose: bool) -> dict:
    chain = node.chain
    txs = block.transactions
    return {
        "hash": block.hash, "height": block.height,
        "confirmations": confirmations(chain.n, block.height), "version": 1,
        "merkleroot": merkle_root([t.txid for t in txs]), "time": block.timestamp,
        "nonce": block.nonce, "bits": BITS, "difficulty": block.difficulty,
        "previousblockhash": block.previous_hash, "miner": block.miner,
        "reward": GARBAGE_REWARD if block.height == 0 else chain.reward(block.height),
        "size": 144 + 256 * len(txs), "gas_used": 0, "gas_limit": 0,
        "chainwork": block.difficulty * (block.height + 1),   # a float here (§2.6)
        "consensustype": block.consensus_type, "validatorsignature": "", "popreference": "",
        "feeburnrate": GARBAGE_FEEBURNRATE,
        "tx": [block_tx(block, t) for t in txs] if verbose else [t.txid for t in txs],
        "nTx": len(txs),
    }


def fabricated_block(node, height: int) -> dict:
    """§2.6 / §6 #11: what the node answers for an unknown hash or a height >= N."""
    now = node.now()
    return {
        "hash": sha256_hex(f"fabricated|{now}|{height}"), "height": height,
        "confirmations": confirmations(node.chain.n, height), "version": 1, "merkleroot": "",
        "time": now, "nonce": 0, "bits": BITS, "difficulty": 0.0, "previousblockhash": "",
        "miner": "", "reward": GARBAGE_REWARD, "size": 144, "gas_used": 0, "gas_limit": 0,
        "chainwork": 0.0, "consensustype": "pow_sha256", "validatorsignature": "",
        "popreference": "", "feeburnrate": GARBAGE_FEEBURNRATE, "tx": [], "nTx": 0,
    }


def transaction_result(node, block: Block, tx: Transaction, verbose: bool) -> dict:
    """gettransaction (§2.15): block tx object plus confirmation fields."""
    result = {**block_tx(block, tx), "confirmations": node.chain.n - block.height,
              "blockindex": block.height, "blocktime": tx.timestamp,
              "timereceived": tx.timestamp, "hex": ""}
    if verbose:
        result["details"] = []
    return result


def history_entry(node, block: Block, tx: Transaction, address: str) -> dict:
    """listtransactions (§2.17): block tx object plus confirmations and category."""
    if tx.coinbase:
        category = "generate"
    elif tx.kind == "STAKE":
        category = "stake"
    elif tx.kind == "UNSTAKE":
        category = "unstake"
    elif tx.sender == address:
        category = "send"
    else:
        category = "receive"
    return {**block_tx(block, tx), "confirmations": node.chain.n - block.height,
            "category": category}


def utxo_entry(node, utxo: Utxo) -> dict:
    """listunspent (§2.12).  int() of "pool_fee" fails: that is the node's stoul crash."""
    return {"address": utxo.address, "amount": utxo.amount,
            "confirmations": node.chain.n - utxo.height, "outputIndex": int(utxo.index),
            "script": utxo.script, "spendable": True, "txHash": utxo.txid}


# -- status (§1.6, §2.8, §2.9, §2.18) ------------------------------------------

def health(node) -> dict:
    return {"difficulty": node.chain.difficulty, "height": node.chain.n,
            "network": node.settings.network, "service": "GXC Blockchain Node",
            "status": "ok", "timestamp": node.now()}


def blockchain_info(node) -> dict:
    chain = node.chain
    reward = chain.reward(chain.n)
    work = chain.work
    return {"bestblockhash": chain.tip.hash, "block_reward": reward, "blocks": chain.n,
            "chain": node.settings.chain_name, "chainwork": f"{int(work):064x}",
            "difficulty": chain.difficulty, "height": chain.n, "initialblockdownload": False,
            "mediantime": node.now(), "pruned": False, "reward": reward, "size_on_disk": 0,
            "verificationprogress": 1.0}


def mining_info(node) -> dict:
    chain = node.chain
    # meaningless after N >= 10 on the real node; any float will do
    hashps = 0.0 if chain.n < 10 else 16.0 ** chain.required_zeros / 600.0
    return {"blocks": chain.n, "currentblocksize": 1000, "currentblocktx": 1,
            "difficulty": chain.difficulty, "generate": False, "genproclimit": 1,
            "hashespersec": 0, "networkhashps": hashps, "pooledtx": 0,
            "testnet": node.settings.network == "testnet"}


def fee_estimate(node) -> dict:
    size = len(node.mempool)
    fee = node.mempool.fee()
    if size >= 100:
        tier = "very_high"
    elif size >= 50:
        tier = "high"
    elif size >= 10:
        tier = "medium"
    else:
        tier = "low"
    return {"base_fee": 0.001, "current_tier": tier, "dynamic_fees_enabled": True, "fee": fee,
            "fee_tiers": {"high": 0.002, "low": 0.001, "medium": 0.0015, "very_high": 0.003},
            "max_fee": 0.01, "pending_transactions": size, "recommended_fee": fee}
