"""A devnet node (defects on) plus a ledger, wired like the pool wires them."""
import random
import time
from fractions import Fraction
from types import SimpleNamespace

from sqlalchemy import select
from twisted.internet import reactor

from gxcpoold.amounts import gxc_to_base_units
from gxcpoold.ledger.blocks import LedgerBlockRecorder, RewardPolicy
from gxcpoold.ledger.payouts import PayoutService
from gxcpoold.ledger.schema import payouts
from gxcpoold.ledger.sharewriter import ShareWriter
from gxcpoold.ledger.unlocker import Unlocker
from gxcpoold.node.client import NodeClient
from gxcpoold.node.errors import NodeRPCError
from gxcpoold.devnet.settings import DevNodeSettings
from gxcpoold.shares import ACCEPTED, BlockCandidate
from tests.devnet.loopback import start_devnode
from tests.ledger.dbtest import trial_database

MATURITY = 2
EXPIRY = 300.0
MARGIN = 60


class LedgerHarness:
    """Mixin for trial TestCases: self.devnode, self.db, self.unlocker, self.payouts."""
    backend = "sqlite"
    node_settings = {}

    async def start(self, **payout_kw):
        settings = DevNodeSettings(**{"maturity": MATURITY, "difficulty": 4.0, "mempool_expiry": EXPIRY,
                                      "restart_emulation": True, **self.node_settings})
        self.devnode = await start_devnode(self, settings)
        self.node = self.devnode.node
        self.wallet = self.node.wallet.address
        self.client = NodeClient(reactor, self.devnode.url, retries=0, timeout=5)
        self.node_link = SimpleNamespace(client=self.client, pool_address=self.wallet)
        self.db = trial_database(self, self.backend)
        self.policy = RewardPolicy("pplns", 2.0, Fraction(1, 100), "@pool-fee")
        import tempfile
        self.writer = ShareWriter(self.db, spill_path=tempfile.mktemp(), flush_interval=3600)
        self.recorder = LedgerBlockRecorder(self.db, self.policy, self.writer)
        self.unlocker = Unlocker(self.db, self.client, self.policy, maturity=MATURITY,
                                 share_writer=self.writer)
        self.payouts = self.payout_service(**payout_kw)

    def payout_service(self, client=None, **kw):
        link = self.node_link if client is None else SimpleNamespace(
            client=client, pool_address=self.wallet)
        kw = {"minimum": 1, "mempool_expiry": EXPIRY, "expiry_margin": MARGIN, **kw}
        return PayoutService(self.db, link, **kw)

    def add_shares(self, works):
        """works: {address: work}; one share each, just before now."""
        from tests.ledger.factories import share
        for i, (address, work) in enumerate(works.items()):
            record = share(time=time.time() - 1 + i / 1000, work=work)
            self.writer.add_share(record.__class__(**{**record.__dict__, "address": address}))

    async def pool_block(self):
        """The pool finds a block: the node appends it (paying the pool wallet),
        the recorder stores the candidate and its acceptance."""
        height = self.node.chain.n
        block_hash = self.node.mine_other(self.wallet, include_mempool=True)
        stored = self.node.chain.blocks[height]
        coinbase = stored.transactions[0]
        block = {"height": height, "hash": block_hash, "difficulty": stored.difficulty,
                 "transactions": [{"outputs": [{"address": self.wallet,
                                                "amount": coinbase.outputs[0].amount}]}]}
        await self.recorder.record_candidate(BlockCandidate(
            time=time.time(), algorithm="sha256d", height=height, hash=block_hash,
            previousblockhash=stored.previous_hash, address=self.wallet, worker="",
            work=16, block=block))
        await self.recorder.set_block_status(height, block_hash, ACCEPTED)
        return height, block_hash

    def mine(self, count=1, mempool=True):
        """Other miners' blocks (they include the mempool, like any miner)."""
        return [self.node.mine_other(None, include_mempool=mempool) for _ in range(count)]

    def received_on_chain(self, address):
        """Every payment to `address` in the node's blocks: [(height, base units)]."""
        found = []
        for block in self.node.chain.blocks:
            for tx in block.transactions:
                if tx.coinbase:
                    continue
                for out in tx.outputs:
                    if out.address == address:
                        found.append((block.height, gxc_to_base_units(out.amount, exact=False)))
        return found

    async def submit_block(self, mempool=True):
        """A block through the real submitblock path, as the pool builds it: the
        template's mempool transactions the node has not mined yet, trimmed to
        the request limit by the node client (too large ones left out); a block
        refused because of a stale transaction goes again with the coinbase only
        (spec defect 6).  The coinbase pays another miner: the pool wallet only
        changes by payouts.  Returns the transactions sent after the coinbase."""
        mined = self.__dict__.setdefault("mined_txids", set())
        template = await self.client.getblocktemplate(self.node.other_miner_address())
        txs = template["transactions"][:1]
        if mempool:
            txs += [tx for tx in template["transactions"][1:] if tx["txid"] not in mined]
        block = {"height": template["height"],
                 "hash": ("0" * self.node.chain.required_zeros + "%064x" % random.getrandbits(256))[:64],
                 "previousblockhash": template["previousblockhash"],
                 "nonce": random.randrange(2**31), "timestamp": template["curtime"],
                 "difficulty": template["difficulty"], "transactions": txs}
        try:
            sent = await self.client.submitblock(block)
        except NodeRPCError as e:
            if "Block validation failed" not in e.message or len(txs) == 1:
                raise
            mined.update(tx["txid"] for tx in txs[1:])
            sent = await self.client.submitblock(dict(block, transactions=txs[:1]))
        mined.update(tx["txid"] for tx in sent["transactions"][1:])
        return sent["transactions"][1:]

    def wallet_balance(self, address):
        """What getbalance says, in base units."""
        return gxc_to_base_units(self.node.balance(address), exact=False)

    def payout_rows(self):
        return self.db.run_sync(lambda c: c.execute(select(payouts).order_by(payouts.c.id)).all())
