"""A devnet node on an ephemeral loopback port for trial tests, stopped at cleanup."""
from twisted.internet import reactor

from gxcpoold.devnet import DevNodeService, DevNodeSettings

LOOPBACK = "tcp:0:interface=127.0.0.1"


async def start_devnode(test, settings=None, endpoint=LOOPBACK, **fields):
    """A listening DevNodeService (settings, or DevNodeSettings(**fields));
    a test may stop it early, the cleanup then does nothing."""
    service = DevNodeService(settings or DevNodeSettings(**fields), endpoint, reactor=reactor)
    service.startService()
    test.addCleanup(lambda: service.running and service.stopService())
    await service.whenListening()
    return service
