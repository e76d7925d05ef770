"""gxcpool-miner's command line: --algorithm, the ethash dialect from the URL
scheme or --ethash-dialect, --dag-file, default threads and ports."""
import os

from twisted.trial import unittest

from gxcpoold.miner.algorithms import make_dialect
from gxcpoold.miner.dialects.ethproxy import EthProxy
from gxcpoold.miner.dialects.gxhash import Gxhash
from gxcpoold.miner.dialects.nicehash import NiceHash
from gxcpoold.miner.dialects.stratum_v1 import StratumV1
from gxcpoold.miner.main import options, parse_url, url_dialect


def args(*argv):
    return options(["-u", "addr.w", *argv])


class AlgorithmOptions(unittest.TestCase):
    def test_sha256d_is_the_default_on_port_3333_with_every_core(self):
        a = args()
        self.assertEqual((a.algorithm, a.host, a.port, a.dialect), ("sha256d", "127.0.0.1",
                                                                    3333, None))
        self.assertEqual(a.threads, os.cpu_count())

    def test_default_ports_and_threads_per_algorithm(self):
        self.assertEqual(args("--algorithm", "ethash").port, 3334)
        self.assertEqual(args("-a", "gxhash").port, 3335)
        self.assertEqual(args("-a", "gxhash").threads, 1)
        self.assertEqual(args("-a", "gxhash", "-t", "3").threads, 3)
        self.assertEqual(args("-a", "ethash").threads, os.cpu_count())

    def test_ethash_dialect_from_the_scheme_or_the_option(self):
        cases = [(("-o", "stratum+tcp://h:1"), None),
                 (("-o", "stratum1+tcp://h:1"), "ethproxy"),
                 (("-o", "stratum2+tcp://h:1"), "nicehash"),
                 (("-o", "h:1", "--ethash-dialect", "ethproxy"), "ethproxy"),
                 (("-o", "stratum1+tcp://h:1", "--ethash-dialect", "ethproxy"), "ethproxy")]
        for argv, dialect in cases:
            a = args("-a", "ethash", *argv)
            self.assertEqual((a.host, a.port, a.dialect), ("h", 1, dialect), argv)
        self.assertEqual(url_dialect("stratum1+tcp://h:1"), "ethproxy")
        self.assertEqual(parse_url("stratum2+tcp://h:2"), ("h", 2))

    def test_refused_combinations(self):
        for argv in (("-o", "stratum1+tcp://h:1"),                      # sha256d
                     ("-a", "gxhash", "-o", "stratum2+tcp://h:1"),
                     ("-a", "gxhash", "--dag-file", "x"),
                     ("--ethash-dialect", "nicehash"),
                     ("-a", "ethash", "-o", "stratum1+tcp://h:1", "--ethash-dialect", "nicehash"),
                     ("-a", "ethash", "--ethash-dialect", "stratum"),
                     ("-a", "scrypt"),
                     ("-a", "gxhash", "-t", "0"),
                     ("-o", "http://h:1")):
            with self.assertRaises(SystemExit, msg=argv):
                args(*argv)


class Dialects(unittest.TestCase):
    def test_each_algorithm_gets_its_dialect(self):
        self.assertIsInstance(make_dialect(None, "sha256d"), StratumV1)
        self.assertIsInstance(make_dialect(None, "ethash"), NiceHash)
        self.assertIsInstance(make_dialect(None, "ethash", "ethproxy"), EthProxy)
        self.assertIsInstance(make_dialect(None, "gxhash"), Gxhash)
        for bad in (("sha256d", "nicehash"), ("gxhash", "stratum"), ("x", None)):
            with self.assertRaises(ValueError, msg=bad):
                make_dialect(None, *bad)
        with self.assertRaises(ValueError):
            make_dialect(None, "gxhash", dag=object())
