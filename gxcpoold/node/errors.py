"""What can go wrong talking to the GXC node, as exception types callers can tell apart."""


class NodeError(Exception):
    """Any failure of a node call."""


class NodeTransportError(NodeError):
    """No usable answer: refused, reset, timed out, or closed before answering.

    Safe to retry for idempotent calls; the request may or may not have been
    acted on (so never blindly retry a payment).
    """


class NodeProtocolError(NodeError):
    """The node answered something that is not the JSON-RPC it promises (garbage, wrong id)."""


class NodeRPCError(NodeError):
    """The node answered with a JSON-RPC error object."""

    def __init__(self, method, code, message):
        super().__init__("%s failed: %s (code %s)" % (method, message, code))
        self.method = method
        self.code = code
        self.message = message


class NodeRequestTooLarge(NodeError):
    """The request cannot be made to fit the node's single-read limit."""


class NodeBusy(NodeError):
    """The pool's own queue of node calls is full: the call was not sent.

    Low-priority calls (unlocker, payouts, chain scans) fail fast this way so
    they never delay block submission or templates; they run again at their
    next tick."""
