"""A faithful GXC node simulator ("devnet node") for development and tests.

See spec/gxc-node.md; §5 is the checklist this package implements.  Entry
points: DevNodeSettings (knobs), DevNodeService (Twisted service), DevNode
(the in-memory node, for direct control in tests).
"""
from .node import DevNode
from .service import DevNodeService
from .settings import DevNodeSettings

__all__ = ["DevNode", "DevNodeService", "DevNodeSettings"]
