"""The API's contract: its OpenAPI 3.1 document, /api/openapi.json and /api-docs.

The document is the single description of every answer: api.py builds its
JSON objects from the schemas here (`fields()`), takes its parameter bounds
from PARAMETERS, and tests/web/test_openapi.py checks live answers against
it.  docs/api.md is generated from it (docs/make_api_reference.py).
"""
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from gxcpoold.addresses import PREFIXES
from gxcpoold.algorithms import ALGORITHMS
from gxcpoold.ledger.payoutstore import CONFIRMED, FAILED, PENDING, REPLACED, SENT, UNKNOWN
from gxcpoold.node.health import CONNECTED, DOWN, LAGGING
from gxcpoold.shares import (ACCEPTED, CANDIDATE, IMMATURE, MATURE, ORPHANED, REJECTED,
                             SUBMITTED)
from gxcpoold.web.http import JSON_TYPE, json_bytes

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1"
WINDOWS = ("10m", "1h", "24h")          # the read model's hashrate windows
BLOCK_STATUSES = (CANDIDATE, SUBMITTED, ACCEPTED, IMMATURE, MATURE, ORPHANED, REJECTED)
PAYOUT_STATUSES = (PENDING, SENT, UNKNOWN, CONFIRMED, FAILED, REPLACED)
NODE_STATES = (CONNECTED, LAGGING, DOWN)
LEADERBOARD_BY = ("work", "hashrate", "blocks")
BALANCE_STATES = ("ok", "warning", "unknown")
MAX_OFFSET = 1_000_000
GXC_PATTERN = r"^-?[0-9]+\.[0-9]{8}$"
FEE_PATTERN = r"^[0-9]+(\.[0-9]+)?$"

# Query parameters: (kind, bounds or choices, default, description); the handlers
# read them with these exact bounds, so the document cannot drift from the code.
PARAMETERS = {
    "miners_limit": ("int", (1, 200), 50, "Miners per page."),
    "blocks_limit": ("int", (1, 100), 20, "Blocks per page."),
    "payouts_limit": ("int", (1, 100), 20, "Payouts per page."),
    "leaderboard_limit": ("int", (1, 100), 20, "Entries in the leaderboard."),
    "offset": ("int", (0, MAX_OFFSET), 0, "Items to skip (newest or highest first)."),
    "block_status": ("choice", BLOCK_STATUSES, None, "Only blocks with this status."),
    "leaderboard_by": ("choice", LEADERBOARD_BY, "work",
                       "Rank by accepted work, effective hashrate (the same order as work) "
                       "or blocks found in the window."),
    "window": ("choice", WINDOWS, "24h", "The time window ranked."),
}


# ------------------------------------------------------------ schema builders

def _t(kind, description, nullable=False, **extra):
    schema = {"type": [kind, "null"] if nullable else kind, "description": description}
    schema.update(extra)
    return schema


def integer(description, nullable=False, minimum=0, **extra):
    if minimum is not None:
        extra["minimum"] = minimum
    return _t("integer", description, nullable, **extra)


def number(description, nullable=False, minimum=0, **extra):
    if minimum is not None:
        extra["minimum"] = minimum
    return _t("number", description, nullable, **extra)


def string(description, nullable=False, **extra):
    return _t("string", description, nullable, **extra)


def boolean(description, nullable=False):
    return _t("boolean", description, nullable)


def enum(values, description, nullable=False):
    schema = string(description, nullable, enum=list(values) + ([None] if nullable else []))
    return schema


def ref(name, description=None, nullable=False):
    target = {"$ref": "#/components/schemas/" + name}
    if nullable:
        target = {"anyOf": [target, {"type": "null"}]}
    if description:
        target = dict(target, description=description)
    return target


def array(items, description):
    return {"type": "array", "items": items, "description": description}


def money(name, description, nullable=False):
    """An amount: `name` in base units (1e-8 GXC) and `name_gxc`, the same exactly in GXC."""
    return {
        name: integer(description + " (base units, 1e-8 GXC).", nullable, minimum=None),
        name + "_gxc": string(description + " in GXC, as exact decimal text.", nullable,
                              pattern=GXC_PATTERN),
    }


def obj(description, properties, optional=()):
    """A closed object: every property required unless named in optional."""
    return {"type": "object", "description": description, "properties": properties,
            "required": [name for name in properties if name not in optional],
            "additionalProperties": False}


WINDOW_NAMES = {"10m": "The last 10 minutes.", "1h": "The last hour.", "24h": "The last day."}


def _windows(item, description):
    return obj(description, {w: dict(item, description=WINDOW_NAMES[w]) for w in WINDOWS})


def _address_pattern(network, lenient):
    prefix = PREFIXES[network]
    if lenient:
        low = 26 - len(prefix)
        return "^%s[0-9A-Za-z]{%d,%d}$" % (prefix, low, low + 36)
    return "^%s[0-9a-f]{34}$" % prefix


# ------------------------------------------------------------ the schemas

def schemas(network="testnet", lenient=False):
    hashrate = number("Effective hashrate in hashes per second: accepted work divided by the "
                      "window's seconds.")
    address = string("A %s payout address." % network)
    return {
        "Error": obj("A refusal or failure; the status repeats the HTTP status.", {
            "error": obj("What went wrong.", {
                "status": integer("The HTTP status code.", minimum=400, maximum=599),
                "message": string("Why, in words."),
            }),
        }),
        "HashrateByAlgorithm": obj(
            "Hashrate of the pool (or one miner) in all and per algorithm.",
            {"total": number("All algorithms together, hashes per second."),
             **{a: number("%s shares, hashes per second." % a) for a in ALGORITHMS}}),
        "HashrateWindows": _windows(ref("HashrateByAlgorithm"),
                                    "Hashrates over the last 10 minutes, hour and day."),
        "WorkerHashrate": _windows(hashrate, "A worker's hashrate per window."),
        "ShareCounts": _windows(integer("Accepted shares."),
                                "Accepted shares over the last 10 minutes, hour and day."),
        "BlockCounts": obj("The pool's blocks by outcome.", {
            "found": integer("Every block the pool found, except those the node rejected."),
            "pending": integer("Candidates, submitted, accepted and immature blocks."),
            "mature": integer("Blocks whose reward matured."),
            "orphaned": integer("Blocks that left the chain (their credits are void)."),
            "rejected": integer("Blocks the node refused."),
        }),
        "Block": obj("A block the pool found.", {
            "height": integer("Block height."),
            "hash": string("Block hash, hex."),
            "algorithm": enum(ALGORITHMS, "The proof of work it was found with."),
            "finder": string("Payout address of the miner who found it."),
            "worker": string("The finder's worker name (miner-chosen text)."),
            "status": enum(BLOCK_STATUSES, "Where the block stands."),
            "reason": string("Why it is in that status, when there is more to say."),
            **money("reward", "The block's coinbase reward"),
            "time": number("When it was found, Unix seconds."),
            "confirmations": integer("Blocks on top of it when last checked."),
            "network_difficulty": number("The template difficulty D it was found at."),
            "network_work": number("Expected hashes per block at that difficulty, 16^floor(D)."),
            "work_since_previous": number("The pool's accepted work since its previous block.",
                                          nullable=True),
            "effort": number("work_since_previous / network_work (1.0 = average luck); null "
                             "when the shares it needs were pruned.", nullable=True),
        }),
        "Stats": obj("The pool at a glance.", {
            "pool_name": string("The pool's name."),
            "network": enum(("testnet", "mainnet"), "The GXC network the pool mines."),
            "algorithms": array(enum(ALGORITHMS, "An algorithm."),
                                "Algorithms with an enabled Stratum port."),
            "active_miners": integer("Miners with a share in the last 10 minutes."),
            "active_workers": integer("Workers with a share in the last 10 minutes."),
            "miners_total": integer("Miners ever seen."),
            "total_hash_rate": number("The pool's hashrate over the last 10 minutes, "
                                      "hashes per second."),
            "hashrate": ref("HashrateWindows", "Pool hashrate per window and algorithm."),
            "shares": ref("ShareCounts", "Accepted shares per window."),
            "blocks_found": integer("Blocks found (all outcomes but rejected)."),
            "blocks": ref("BlockCounts", "Blocks by outcome."),
            "last_block": ref("Block", "The most recent block, or null.", nullable=True),
            **money("commission_earned", "Pool fees credited so far"),
            **money("total_payouts", "Payouts sent or confirmed so far"),
            "payouts_count": integer("Payouts sent or confirmed so far."),
            "pool_fee": string("The pool fee as a fraction of each block reward (0.01 = 1 %); "
                               "volume tiers and address fees: /api/fees.",
                               pattern=FEE_PATTERN),
            "payout_scheme": enum(("pplns", "prop", "solo"), "How block rewards are shared."),
            **money("minimum_payout", "The smallest balance that is paid out"),
            "height": integer("Height of the block being mined, null before the first "
                              "template.", nullable=True),
            "network_difficulty": number("The current template's difficulty D.", nullable=True),
            "node_state": enum(NODE_STATES, "The pool's link to its GXC node."),
            "time": number("When these figures were read, Unix seconds."),
        }),
        "MinerSummary": obj("An active miner.", {
            "address": address,
            "hashrate": number("Hashrate over the last 10 minutes, hashes per second."),
            "hashrate_1h": number("Hashrate over the last hour."),
            "hashrate_24h": number("Hashrate over the last day."),
            "workers": integer("Workers with a share in the last 10 minutes."),
            "last_share_at": number("The last accepted share, Unix seconds.", nullable=True),
        }),
        "MinersPage": obj("Active miners, highest 10-minute hashrate first.", {
            "total": integer("Active miners in all."),
            "limit": integer("Page size asked for."),
            "offset": integer("Miners skipped."),
            "miners": array(ref("MinerSummary"), "This page."),
        }),
        "Worker": obj("One of a miner's workers (rigs).", {
            "name": string("Worker name as the miner sent it (\"\" when none)."),
            "last_share_at": number("Its last accepted share, Unix seconds."),
            "hashrate": ref("WorkerHashrate", "Its hashrate per window."),
            "shares_24h": integer("Accepted shares over the last day."),
        }),
        "Balances": obj("What the pool owes a miner.", {
            **money("immature", "Credits of blocks not yet mature"),
            **money("mature", "Unpaid balance"),
            **money("pending", "Payouts sent, not yet in a block"),
            **money("paid", "Payouts confirmed in a block"),
        }),
        "Credit": obj("A share of one block's reward.", {
            "block_height": integer("The block's height."),
            "block_hash": string("The block's hash."),
            "block_status": enum(BLOCK_STATUSES, "The block's status."),
            "kind": enum(("share", "fee", "remainder"), "Why the credit was made."),
            **money("amount", "The credit"),
            **money("fee", "The pool fee this credit's part of the reward paid (amount + fee "
                    "= the part; 0 on fee and remainder credits)"),
            "status": enum(("immature", "mature", "void"), "immature until the block matures; "
                           "void if it was orphaned."),
            "work": number("The miner's work counted for this block."),
            "time": number("When the block was found, Unix seconds."),
        }),
        "Payout": obj("A payment to a miner.", {
            "id": integer("Payout number."),
            "recipient": string("The address paid."),
            **money("amount", "Amount paid"),
            **money("network_fee", "The node's fee for the transaction (the pool bears it); "
                    "null until mined", nullable=True),
            "status": enum(PAYOUT_STATUSES, "pending: recorded; sent: in the node's mempool; "
                           "unknown: being reconciled; confirmed: in a block; failed: not "
                           "paid, the amount is back in the balance; replaced: paid again "
                           "by smaller transactions."),
            "txid": string("Transaction id the node gave when sent.", nullable=True),
            "mined_txid": string("Transaction id in the block (GXC ids change when mined).",
                                 nullable=True),
            "block_height": integer("The block that carries it.", nullable=True),
            "created_at": number("When it was recorded, Unix seconds."),
            "sent_at": number("When the node took it, Unix seconds.", nullable=True),
        }),
        "PayoutsPage": obj("Payouts, newest first.", {
            "total": integer("Payouts in all (for this address, if one was given)."),
            "limit": integer("Page size asked for."),
            "offset": integer("Payouts skipped."),
            "payouts": array(ref("Payout"), "This page."),
        }),
        "FeeTier": obj("A volume tier.", {
            "min_hashrate": number("The average accepted hashrate over the 24 h before a "
                                   "block that reaches the tier, expected hashes/s."),
            "fee": string("The tier's fee as a fraction of a reward (0.008 = 0.8 %).",
                          pattern=FEE_PATTERN),
        }),
        "FeeRules": obj("The pool's published fee rules.", {
            "default": string("The pool fee (0.01 = 1 %).", pattern=FEE_PATTERN),
            "tiers": array(ref("FeeTier"), "Volume tiers: the lowest fee among those a miner "
                           "reaches applies."),
            "hashrate_window_seconds": integer("The period a tier's hashrate is averaged over."),
            "rule": string("How a miner's fee is chosen and applied, in words."),
        }),
        "MinerFee": obj("The fee this miner's part of a block found now would pay.", {
            "fee": string("Its fee (0.01 = 1 %).", pattern=FEE_PATTERN),
            "source": enum(("address", "tier", "default"), "address: the operator gave this "
                           "address its own fee; tier: a volume tier; default: the pool fee."),
            "tier": integer("The tier's index in FeeRules.tiers.", nullable=True),
            "min_hashrate": number("The tier's threshold, expected hashes/s.", nullable=True),
            "hashrate_24h": number("Its average accepted hashrate over the last 24 h (whole "
                                   "minutes), expected hashes/s."),
            "default": string("The pool fee, for comparison.", pattern=FEE_PATTERN),
        }),
        "Miner": obj("One miner: hashrate, workers, shares, balances, credits and payouts.", {
            "address": address,
            "first_seen": number("Its first accepted share, Unix seconds."),
            "last_share_at": number("Its last accepted share, Unix seconds.", nullable=True),
            "hashrate": ref("HashrateWindows", "Its hashrate per window and algorithm."),
            "workers": array(ref("Worker"), "Its workers with a share in the last day, "
                             "busiest first (at most 500)."),
            "workers_total": integer("Its workers with a share in the last day."),
            "shares": ref("ShareCounts", "Its accepted shares per window."),
            "balances": ref("Balances", "What the pool owes it."),
            "fee": ref("MinerFee", "The fee it pays, and why."),
            "blocks_found": integer("Blocks this miner found."),
            "credits": array(ref("Credit"), "Its last 50 credits, newest first."),
            "payouts": array(ref("Payout"), "Its last 50 payouts, newest first."),
        }),
        "BlocksPage": obj("Blocks, newest first.", {
            "total": integer("Blocks in all (with this status, if one was given)."),
            "limit": integer("Page size asked for."),
            "offset": integer("Blocks skipped."),
            "blocks": array(ref("Block"), "This page."),
        }),
        "Owed": obj("What the ledger owes miners.", {
            **money("immature", "Credits of blocks not yet mature"),
            **money("mature", "Unpaid mature balances"),
            **money("pending", "Payouts sent and not yet mined"),
            **money("total", "immature + mature"),
        }),
        "PoolBalance": obj("The node wallet's spendable balance next to what the pool owes.", {
            "pool_address": string("The pool wallet's address.", nullable=True),
            **money("wallet", "Spendable balance of the pool wallet; null when the node "
                    "cannot be asked", nullable=True),
            "owed": ref("Owed", "What the ledger owes miners."),
            **money("pool_accounts", "Mature balances of the pool's own accounts (fees)"),
            **money("shortfall", "How much the wallet lacks to pay every mature balance "
                    "(0 when it covers them; null when unknown)", nullable=True),
            "solvent": boolean("true when the wallet covers the mature balances; null when "
                               "the wallet balance is unknown.", nullable=True),
            "state": enum(BALANCE_STATES, "ok: the wallet covers mature balances; warning: it "
                          "does not; unknown: the node could not be asked."),
            "reason": string("Why the state is warning or unknown (\"\" when ok)."),
            "time": number("When this was read, Unix seconds."),
        }),
        "LeaderboardEntry": obj("One place in the leaderboard.", {
            "rank": integer("1 is the top.", minimum=1),
            "address": address,
            "work": number("Accepted work in the window (expected hashes)."),
            "hashrate": number("Effective hashrate over the window, hashes per second."),
            "blocks": integer("Blocks found in the window."),
        }),
        "Leaderboard": obj("The top miners over a window.", {
            "by": enum(LEADERBOARD_BY, "What ranks them."),
            "window": enum(WINDOWS, "The time window."),
            "entries": array(ref("LeaderboardEntry"), "Best first."),
        }),
        "NodeHealth": obj("The pool's link to its GXC node.", {
            "state": enum(NODE_STATES, "connected; lagging: slow or failing polls; down."),
            "reason": string("Why it is lagging or down."),
            "since": number("When the state last changed, Unix seconds."),
            "height": integer("Height of the last template.", nullable=True),
            "latency": number("Seconds the last successful poll took.", nullable=True),
            "consecutive_failures": integer("Failed polls in a row."),
        }),
        "Network": obj("The GXC network as the pool's node sees it.", {
            "network": enum(("testnet", "mainnet"), "The network."),
            "height": integer("Height of the next block (the one being mined).", nullable=True),
            "tip_height": integer("Height of the chain's last block.", nullable=True),
            "previous_block_hash": string("The chain tip's hash.", nullable=True),
            "difficulty": number("The template difficulty D: a block hash needs floor(D) "
                                 "leading zero hex digits.", nullable=True),
            "required_zeros": integer("floor(D).", nullable=True),
            "network_work": number("Expected hashes per block, 16^floor(D); null beyond a "
                                   "double's range.", nullable=True),
            **money("reward", "The next block's coinbase reward", nullable=True),
            "template_time": integer("The node's clock in the current template, Unix "
                                     "seconds.", nullable=True, minimum=None),
            "pool_address": string("The address block rewards are paid to.", nullable=True),
            "node": ref("NodeHealth", "The node link's health."),
        }),
        "DagState": obj("The ethash DAG on this port.", {
            "dag_mode": enum(("full", "light"), "Configured: full DAG or light cache only."),
            "mode": enum(("full", "light"), "What checks shares now."),
            "height": integer("The height the DAG follows.", nullable=True),
            "epoch": integer("The current epoch.", nullable=True),
            "epochs_ready": array(integer("An epoch."), "Epochs whose full DAG is built."),
            "building": integer("The epoch being built.", nullable=True),
            "progress": {"anyOf": [obj("Build progress.", {
                "epoch": integer("The epoch being built."),
                "percent": number("Percent done.", maximum=100)}), {"type": "null"}],
                "description": "Build progress, null when nothing is being built."},
        }),
        "VerifyPool": obj("The thread pool that checks this port's shares.", {
            "threads": integer("Hashing threads.", minimum=1),
            "pending": integer("Checks queued or running."),
            "max_pending": integer("Checks it holds at once; beyond, miners are told Busy.",
                                   minimum=1),
        }),
        "Listener": obj("One Stratum port.", {
            "algorithm": enum(ALGORITHMS, "The algorithm mined on it."),
            "listening": boolean("Whether it accepts connections."),
            "port": integer("TCP port number.", nullable=True, maximum=65535),
            "connections": integer("Open miner connections."),
            "start_difficulty": number("The share difficulty a new connection starts at."),
            "dag": ref("DagState", "ethash only.", nullable=True),
            "verify": ref("VerifyPool", "ethash and gxhash only.", nullable=True),
        }),
        "ShareWriterState": obj("The share writer (accepted shares to the database).", {
            "database_ok": boolean("The last write succeeded."),
            "waiting_files": integer("Journal files waiting for the database."),
            "written": integer("Shares written since start."),
            "spilled": integer("Shares that had to wait on disk."),
            "last_write_seconds": number("Seconds the last batch took.", nullable=True),
        }),
        "Health": obj("Can the pool take shares?  200 yes, 503 no (for load balancers).", {
            "status": enum(("ok", "unavailable"), "ok when the pool can take shares."),
            "problems": array(string("A problem."), "Why not, when unavailable; also "
                              "warnings that do not stop mining (payouts halted)."),
            "node": ref("NodeHealth", "Null when the pool has no node link.", nullable=True),
            "database": obj("A trivial read of the ledger.", {
                "ok": boolean("The read succeeded."),
                "latency": number("Seconds it took.", nullable=True),
                "error": string("What failed.", nullable=True),
            }),
            "shares": ref("ShareWriterState", "Null when the web runs without the ledger's "
                          "share writer.", nullable=True),
            "stratum": array(ref("Listener"), "Each enabled Stratum port."),
            "payouts": obj("The payout processor.", {
                "halted": boolean("Payouts are stopped until the operator resumes them."),
                "reason": string("Why they are halted.", nullable=True),
            }),
            "uptime": number("Seconds since the web service started."),
            "time": number("When this was checked, Unix seconds."),
        }),
    }


# ------------------------------------------------------------ the document

def _parameter(name, where, key, *, required=False, description=None, schema=None):
    if schema is None:
        kind, bounds, default, description = PARAMETERS[key]
        if kind == "int":
            schema = {"type": "integer", "minimum": bounds[0], "maximum": bounds[1],
                      "default": default}
        else:
            schema = {"type": "string", "enum": list(bounds)}
            if default is not None:
                schema["default"] = default
    return {"name": name, "in": where, "required": required, "description": description,
            "schema": schema}


def _json(schema_name, description, headers=None):
    response = {"description": description,
                "content": {"application/json": {"schema": ref(schema_name)}}}
    if headers:
        response["headers"] = headers
    return response


ERRORS = {
    "400": "A parameter is malformed or out of range; the message says which.",
    "404": "No such miner, or no such API path.",
    "429": "Too many requests from this address: wait Retry-After seconds.",
    "503": "The pool cannot take shares now.",
}


def _operation(summary, description, schema_name, *, parameters=(), errors=(), tag,
               operation_id):
    responses = {"200": _json(schema_name, "OK.")}
    for code in errors:
        responses[code] = _json("Error", ERRORS[code])
    responses["429"] = _json("Error", ERRORS["429"], headers={"Retry-After": {
        "description": "Seconds to wait before the next request.",
        "schema": {"type": "integer", "minimum": 1}}})
    return {"get": {"summary": summary, "description": description, "tags": [tag],
                    "operationId": operation_id, "parameters": list(parameters),
                    "responses": responses}}


def build_document(network="testnet", lenient=False, title="gxcpool"):
    """The OpenAPI document for a pool on `network` (its address pattern)."""
    address_schema = {"type": "string", "pattern": _address_pattern(network, lenient),
                      "maxLength": 62}
    pages = [_parameter("offset", "query", "offset")]
    paths = {
        "/api/stats": _operation(
            "Pool statistics",
            "Hashrate per window and algorithm, active miners and workers, block counts, the "
            "last block, fees earned, payouts made, the pool's settings and the node's state.",
            "Stats", tag="pool", operation_id="getStats"),
        "/api/miners": _operation(
            "Active miners",
            "Miners with a share in the last 10 minutes, highest hashrate first, paged.",
            "MinersPage", tag="miners", operation_id="listMiners", errors=("400",),
            parameters=[_parameter("limit", "query", "miners_limit")] + pages),
        "/api/miners/{address}": _operation(
            "One miner",
            "A miner's hashrate per window and algorithm, its workers with hashrate and last "
            "share, share counts, balances (immature, mature, pending, paid), recent credits "
            "and payouts.  400 for a malformed address, 404 for one the pool has never seen.",
            "Miner", tag="miners", operation_id="getMiner", errors=("400", "404"),
            parameters=[_parameter("address", "path", None, required=True,
                                   description="The miner's payout address.",
                                   schema=address_schema)]),
        "/api/blocks": _operation(
            "Blocks found",
            "The pool's blocks, newest first, paged, optionally of one status: finder, "
            "status, confirmations, reward, effort.",
            "BlocksPage", tag="blocks", operation_id="listBlocks", errors=("400",),
            parameters=[_parameter("limit", "query", "blocks_limit")] + pages
            + [_parameter("status", "query", "block_status")]),
        "/api/payouts": _operation(
            "Payouts",
            "Payments to miners, newest first, paged, optionally to one address, with "
            "transaction ids and the block that carries each.",
            "PayoutsPage", tag="payouts", operation_id="listPayouts", errors=("400",),
            parameters=[_parameter("limit", "query", "payouts_limit")] + pages
            + [_parameter("address", "query", None, description="Only payouts to this "
                          "address.", schema=address_schema)]),
        "/api/pool-balance": _operation(
            "Solvency",
            "The node wallet's spendable balance next to what the ledger owes miners "
            "(immature + mature).  state is warning when the wallet cannot cover the mature "
            "balances, unknown when the node cannot be asked.",
            "PoolBalance", tag="pool", operation_id="getPoolBalance"),
        "/api/leaderboard": _operation(
            "Leaderboard",
            "The top miners over a window, by work, hashrate or blocks found.",
            "Leaderboard", tag="miners", operation_id="getLeaderboard", errors=("400",),
            parameters=[_parameter("by", "query", "leaderboard_by"),
                        _parameter("window", "query", "window"),
                        _parameter("limit", "query", "leaderboard_limit")]),
        "/api/fees": _operation(
            "Fee rules",
            "The pool fee, the volume tiers and how a miner's fee is chosen and applied.  A "
            "miner's own effective fee is in /api/miners/{address}.",
            "FeeRules", tag="pool", operation_id="getFees"),
        "/api/network": _operation(
            "Network",
            "Height, difficulty, network work and block reward from the current template, "
            "and the node link's health.",
            "Network", tag="pool", operation_id="getNetwork"),
        "/api/health": _operation(
            "Health check",
            "200 when the pool can take shares; 503 when it cannot: the node is down, the "
            "database cannot be read, or no Stratum port is listening.  The body says which "
            "in either case.",
            "Health", tag="pool", operation_id="getHealth"),
    }
    health = paths["/api/health"]["get"]["responses"]
    health["503"] = _json("Health", ERRORS["503"])
    paths["/api/openapi.json"] = {"get": {
        "summary": "This document", "tags": ["pool"], "operationId": "getOpenAPI",
        "description": "The OpenAPI 3.1 description of the API.", "parameters": [],
        "responses": {"200": {"description": "The document.", "content": {
            "application/json": {"schema": {"type": "object", "required": ["openapi", "paths"]}}}},
            "429": _json("Error", ERRORS["429"])}}}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "%s mining pool API" % title,
            "version": API_VERSION,
            "description": (
                "Read-only JSON API of a GXC mining pool.  Every answer is JSON; errors are "
                "{\"error\": {\"status\", \"message\"}}.  Amounts are integers of base units "
                "(1e-8 GXC), each next to an _gxc field holding the same amount exactly as "
                "decimal text; never a floating-point number.  Times are Unix seconds; "
                "hashrates are hashes per second.  Requests are limited per client address "
                "(429 with Retry-After beyond the limit)."),
        },
        "tags": [{"name": "pool", "description": "The pool as a whole."},
                 {"name": "miners", "description": "Miners and their workers."},
                 {"name": "blocks", "description": "Blocks the pool found."},
                 {"name": "payouts", "description": "Payments to miners."}],
        "paths": paths,
        "components": {"schemas": schemas(network, lenient)},
    }


def document_for(config):
    return build_document(config.pool.network, config.pool.miner_address_check == "lenient",
                          config.pool.name)


def fields(document, name):
    """The property names of a component schema, in order (api.py builds answers from them)."""
    return list(document["components"]["schemas"][name]["properties"])


# ------------------------------------------------------------ reading it

def resolve(document, schema):
    """The schema a $ref points to (once), else the schema itself."""
    target = schema.get("$ref")
    if target:
        return document["components"]["schemas"][target.rsplit("/", 1)[1]]
    return schema


def type_text(schema):
    """A short human form of a schema's type: "integer", "Block or null", "array of Worker"."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    if "anyOf" in schema:
        return " or ".join(type_text(s) for s in schema["anyOf"])
    if "enum" in schema:
        text = "one of " + ", ".join(str(v) for v in schema["enum"] if v is not None)
        return text + (", or null" if None in schema["enum"] else "")
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        return "array of " + type_text(schema.get("items", {}))
    return kind


def field_rows(document, name):
    """[(field, type, required, description)] of a component schema."""
    schema = document["components"]["schemas"][name]
    required = set(schema.get("required", ()))
    rows = []
    for field, sub in schema.get("properties", {}).items():
        rows.append((field, type_text(sub), field in required, sub.get("description", "")))
    return rows


def operations(document):
    """[(path, operation)] in document order."""
    return [(path, item["get"]) for path, item in document["paths"].items()]


def response_schema_name(operation, code="200"):
    response = operation["responses"].get(code, {})
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    target = schema.get("$ref")
    return target.rsplit("/", 1)[1] if target else None


# ------------------------------------------------------------ routes

TEMPLATES = Path(__file__).resolve().parent / "templates"


def render_docs(document):
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    template = env.get_template("api_docs.html")
    return template.render(document=document, operations=operations(document),
                           schemas=[(name, document["components"]["schemas"][name]["description"],
                                     field_rows(document, name))
                                    for name in document["components"]["schemas"]],
                           schema_names=set(document["components"]["schemas"]),
                           response_schema_name=response_schema_name, type_text=type_text)


def add_routes(app, ctx):
    document = document_for(ctx.config)
    body = json_bytes(document)
    page = render_docs(document).encode("utf-8")

    @app.route("/api/openapi.json", methods=["GET"])
    def openapi_json(request):
        request.setHeader(b"Content-Type", JSON_TYPE)
        request.setHeader(b"Cache-Control", b"public, max-age=300")
        return body

    @app.route("/api-docs", methods=["GET"])
    def api_docs(request):
        request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
        request.setHeader(b"Cache-Control", b"public, max-age=300")
        return page
