"""NodeService against the devnet node and misbehaving servers, over real loopback HTTP.

The pool must keep running whatever the node does, report it as down (or
lagging), and recover by itself when the node answers again.
"""
import json

from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.trial import unittest

from gxcpoold.config import NodeSettings
from gxcpoold.devnet.service import DevNodeService
from gxcpoold.devnet.settings import DevNodeSettings
from gxcpoold.node.health import CONNECTED, DOWN, LAGGING
from gxcpoold.node.service import NodeService
from tests.node.fakes import ScriptedNode, answer_with, free_port, http, request_json
from tests.waiting import wait_for

FAST = NodeSettings(timeout=1.0, retries=0, retry_backoff=0.01, tip_poll_interval=0.05,
                    template_refresh=0.5, slow_after=0.3, down_after_failures=2)


class NodeServiceTestCase(unittest.TestCase):
    async def start_devnode(self, port=0, **settings):
        settings.setdefault("genesis_seed", None)
        devnode = DevNodeService(DevNodeSettings(**settings),
                                 "tcp:%d:interface=127.0.0.1" % port, reactor=reactor)
        devnode.startService()
        await devnode.whenListening()
        self.addCleanup(lambda: devnode.running and devnode.stopService())
        return devnode

    def start_pool_side(self, url, network="testnet", pool_address="", settings=FAST):
        service = NodeService(reactor, settings, network=network, pool_address=pool_address,
                              url=url)
        self.templates = []
        service.add_template_observer(lambda t, new_tip: self.templates.append((t, new_tip)))
        service.startService()
        self.addCleanup(service.stopService)
        return service

    async def rpc(self, service, method, *params):
        return await service.client.call(method, *params)


class HappyPath(NodeServiceTestCase):
    async def test_handshake_then_templates(self):
        devnode = await self.start_devnode()
        service = self.start_pool_side(devnode.url)
        await wait_for(lambda: self.templates, "a template")
        template, new_tip = self.templates[0]
        self.assertTrue(new_tip)
        self.assertEqual(template.height, 1)
        wallet = await self.rpc(service, "getnewaddress")
        self.assertEqual(service.pool_address, wallet)
        self.assertEqual(template.coinbase["outputs"][0]["address"], wallet)
        self.assertEqual(service.genesis_hash, await self.rpc(service, "getblockhash", 0))
        self.assertEqual(template.previousblockhash, service.genesis_hash)
        await wait_for(lambda: service.health.state == CONNECTED, "connected")
        self.assertIs(service.current_template, service.watcher.current)

    async def test_new_tip_from_another_miner_gives_a_clean_template(self):
        devnode = await self.start_devnode()
        service = self.start_pool_side(devnode.url)
        await wait_for(lambda: self.templates, "a template")
        await self.rpc(service, "devnet_mine")
        await wait_for(lambda: any(t.height == 2 for t, _ in self.templates), "height 2")
        template, new_tip = next((t, n) for t, n in self.templates if t.height == 2)
        self.assertTrue(new_tip)
        self.assertEqual(template.previousblockhash, await self.rpc(service, "getbestblockhash"))

    async def test_periodic_refresh_without_a_new_tip(self):
        devnode = await self.start_devnode()
        self.start_pool_side(devnode.url)
        await wait_for(lambda: len(self.templates) >= 3, "three templates")
        self.assertEqual({t.height for t, _ in self.templates}, {1})
        self.assertEqual([n for _, n in self.templates[1:]], [False] * (len(self.templates) - 1))

    async def test_mempool_transactions_reach_the_template(self):
        devnode = await self.start_devnode(maturity=1)
        service = self.start_pool_side(devnode.url)
        await wait_for(lambda: self.templates, "a template")
        wallet = await self.rpc(service, "getnewaddress")
        await self.rpc(service, "devnet_mine", 2, {"address": wallet})     # matures at once
        await wait_for(lambda: any(t.height == 3 for t, _ in self.templates), "height 3")
        txid = await self.rpc(service, "sendtoaddress", "tGXC" + "1" * 34, 1.0)
        await wait_for(lambda: any(txid in t.txids for t, _ in self.templates), "tx in template")


class NodeTrouble(NodeServiceTestCase):
    async def test_node_down_then_up(self):
        port = free_port()
        service = self.start_pool_side("http://127.0.0.1:%d" % port)
        await wait_for(lambda: service.health.consecutive_failures >= 3, "failed polls")
        self.assertEqual(service.health.state, DOWN)
        self.assertIn("cannot connect", service.health.reason)
        self.assertEqual(self.templates, [])
        self.assertIsNone(service.current_template)
        await self.start_devnode(port)
        await wait_for(lambda: self.templates, "a template after recovery")
        await wait_for(lambda: service.health.state == CONNECTED, "connected")

    async def test_node_goes_away_and_comes_back(self):
        port = free_port()
        devnode = await self.start_devnode(port, genesis_seed="same")
        service = self.start_pool_side(devnode.url)
        await wait_for(lambda: service.health.state == CONNECTED, "connected")
        await devnode.stopService()
        await wait_for(lambda: service.health.state == DOWN, "down")
        self.assertIsNone(service.current_template)
        count = len(self.templates)
        await self.start_devnode(port, genesis_seed="same")
        await wait_for(lambda: len(self.templates) > count, "templates again")
        await wait_for(lambda: service.health.state == CONNECTED, "connected again")

    async def test_garbage_answers_mean_down_then_recovery(self):
        port = free_port()
        garbage = ScriptedNode(lambda data: http(b"\x00\xffnot json at all"))
        garbage.listen(port)
        service = self.start_pool_side("http://127.0.0.1:%d" % port)
        await wait_for(lambda: service.health.consecutive_failures >= 3, "failed polls")
        self.assertEqual(service.health.state, DOWN)
        self.assertIn("not JSON", service.health.reason)
        await garbage.stop()
        await self.start_devnode(port)
        await wait_for(lambda: self.templates, "a template after recovery")

    async def test_nonsense_template_is_not_used(self):
        def respond(data):
            method = request_json(data)["method"]
            results = {"getblockchaininfo": {"chain": "test"},
                       "getnewaddress": "tGXC" + "a" * 34, "getblockhash": "0" * 64,
                       "getbestblockhash": "1" * 64,
                       "getblocktemplate": {"height": "one", "transactions": []}}
            return answer_with(results[method])(data)
        node = ScriptedNode(respond)
        service = self.start_pool_side(node.listen())
        self.addCleanup(node.stop)
        await wait_for(lambda: service.health.consecutive_failures >= 3, "failed polls")
        self.assertEqual(self.templates, [])
        self.assertIn("template height", service.health.reason)

    async def test_slow_node_is_lagging(self):
        devnode = await self.start_devnode()
        service = self.start_pool_side(devnode.url)
        await wait_for(lambda: service.health.state == CONNECTED, "connected")
        # A slow node that repeats the real one's answers: 0.5 s each, slow_after is 0.3 s.
        template = service.watcher.current
        answers = {"getbestblockhash": template.previousblockhash,
                   "getblocktemplate": template.raw}
        slow = ScriptedNode(lambda data: answer_with(answers[request_json(data)["method"]])(data))
        slow.delay = 0.5
        service.client.set_url(slow.listen())
        self.addCleanup(slow.stop)
        await wait_for(lambda: service.health.state == LAGGING, "lagging")
        self.assertIn("answers take", service.health.reason)

    async def test_mainnet_node_is_refused(self):
        devnode = await self.start_devnode(network="mainnet")
        service = self.start_pool_side(devnode.url)
        await wait_for(lambda: "mainnet" in service.health.reason, "refusal")
        self.assertEqual(service.health.state, DOWN)
        self.assertIn("unminable", service.health.reason)
        await deferLater(reactor, 0.3)
        self.assertEqual(self.templates, [])

    async def test_chain_that_does_not_match_the_configuration(self):
        devnode = await self.start_devnode()
        service = self.start_pool_side(devnode.url, network="mainnet")
        await wait_for(lambda: service.health.blocker, "refusal")
        self.assertIn("chain is 'test' but the pool is configured for mainnet",
                      service.health.reason)

    async def test_wiped_node_is_noticed(self):
        port = free_port()
        devnode = await self.start_devnode(port)
        service = self.start_pool_side(devnode.url)
        changes = []
        service.chain_observers.append(lambda old, new: changes.append((old, new)))
        await wait_for(lambda: service.health.state == CONNECTED, "connected")
        first = service.genesis_hash
        await devnode.stopService()
        await wait_for(lambda: service.health.state == DOWN, "down")
        await self.start_devnode(port)          # fresh data dir: new random genesis
        await wait_for(lambda: changes, "genesis change")
        self.assertEqual(changes[0][0], first)
        self.assertNotEqual(changes[0][1], first)
        self.assertEqual(service.genesis_hash, changes[0][1])

    async def test_node_replaced_before_the_first_poll_succeeds(self):
        """Handshake done, node gone before any poll: the genesis is still re-checked."""
        port = free_port()
        devnode = await self.start_devnode(port)
        service = NodeService(reactor, FAST, network="testnet", url=devnode.url)
        changes = []
        service.chain_observers.append(lambda old, new: changes.append((old, new)))
        await service.handshake()
        self.assertTrue(service.ready)
        await devnode.stopService()
        await service.tick()                    # the poll fails; still down
        self.assertFalse(service.ready)
        await self.start_devnode(port)
        await service.tick()
        self.assertEqual(len(changes), 1)
        self.assertTrue(service.ready)

    async def test_stopping_abandons_a_call_in_flight(self):
        """A hung node must not hold up shutdown (trial also checks nothing is left running)."""
        silent = ScriptedNode(lambda data: None)
        service = NodeService(reactor, FAST, network="testnet", url=silent.listen())
        self.addCleanup(silent.stop)
        service.startService()
        await wait_for(lambda: silent.requests, "a request to the silent node")
        self.assertIsNotNone(service._ticking)
        service.stopService()                   # cancels synchronously
        self.assertIsNone(service._ticking)
        self.assertEqual(service.health.consecutive_failures, 0)   # not blamed on the node

    async def test_reload_applies_timing_settings_while_running(self):
        import dataclasses
        from gxcpoold.config import load_config
        devnode = await self.start_devnode()
        service = self.start_pool_side(devnode.url)
        await wait_for(lambda: service.health.state == CONNECTED, "connected")
        node = NodeSettings(url=devnode.url, timeout=2.5, retries=1, retry_backoff=0.1,
                            tip_poll_interval=0.1, template_refresh=0.2, slow_after=1.5,
                            down_after_failures=5, max_request_bytes=7000)
        service.reconfigure(dataclasses.replace(load_config(None, environ={}), node=node))
        client, health, watcher = service.client, service.health, service.watcher
        self.assertEqual((client.timeout, client.retries, client.retry_backoff,
                          client.max_request_bytes), (2.5, 1, 0.1, 7000))
        self.assertEqual((health.slow_after, health.down_after_failures, health.stale_after),
                         (1.5, 5, 3 * 0.2))
        self.assertEqual((watcher.tip_poll_interval, watcher.template_refresh), (0.1, 0.2))
        self.assertEqual(service._loop.interval, 0.1)
        count = len(self.templates)
        await wait_for(lambda: len(self.templates) >= count + 3, "templates at the new rate")

    async def test_configured_pool_address_is_used_for_templates(self):
        devnode = await self.start_devnode()
        address = "tGXC" + "b" * 34
        service = self.start_pool_side(devnode.url, pool_address=address)
        await wait_for(lambda: self.templates, "a template")
        self.assertEqual(service.pool_address, address)
        self.assertEqual(self.templates[0][0].coinbase["outputs"][0]["address"], address)
