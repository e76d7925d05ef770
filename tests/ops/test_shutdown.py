"""The pool's service tree stops one child at a time, last started first, waiting for each.

PoolService.stopService is stop_service_tree; the whole daemon's SIGTERM is
exercised against a real twistd in test_reload_twistd.py.
"""
from twisted.application.service import MultiService, Service
from twisted.internet import defer
from twisted.trial import unittest

from gxcpoold.shutdown import stop_service_tree


class Tree(MultiService):
    def stopService(self):
        return stop_service_tree(self)


class Slow(Service):
    def __init__(self, name, log, fail=False):
        self.setName(name)
        self.log_ = log
        self.fail = fail
        self.done = defer.Deferred()

    def stopService(self):
        super().stopService()
        self.log_.append("stop " + self.name)
        if self.fail:
            raise RuntimeError("boom")
        return self.done


class ShutdownTests(unittest.TestCase):
    def setUp(self):
        self.log = []
        self.pool = Tree()
        self.node = Slow("node", self.log)
        self.ledger = Slow("ledger", self.log, fail=True)
        self.stratum = Slow("stratum", self.log)
        for service in (self.node, self.ledger, self.stratum):
            service.setServiceParent(self.pool)
        for service in self.pool:
            service.running = 1
        self.pool.running = 1

    def test_each_child_waits_for_the_one_started_after_it(self):
        stopped = self.pool.stopService()
        self.assertFalse(self.pool.running)
        self.assertEqual(self.log, ["stop stratum"])
        self.stratum.done.callback(None)
        # The ledger's failure is logged and does not keep the node running.
        self.assertEqual(self.log, ["stop stratum", "stop ledger", "stop node"])
        self.assertNoResult(stopped)
        self.node.done.callback(None)
        self.successResultOf(stopped)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
