"""Stratum error codes (spec/stratum-v1.md section 5) as an exception type.

Errors travel as [code, "message", null]; miners only display the message,
so every message says what was wrong in words.
"""
OTHER = 20
JOB_NOT_FOUND = 21          # also: stale (the job belongs to an old tip)
DUPLICATE = 22
LOW_DIFFICULTY = 23
UNAUTHORIZED = 24
NOT_SUBSCRIBED = 25


class StratumError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message

    def as_json(self):
        return [self.code, self.message, None]


class MalformedRequest(StratumError):
    """The request itself is broken (bad JSON, wrong params): counts towards a ban."""

    def __init__(self, message):
        super().__init__(OTHER, message)


class Busy(StratumError):
    """The pool cannot check this share now (its verifier queue is full):
    the session answers with this and slows the connection down."""

    def __init__(self, message="Busy: too many shares waiting to be checked; slow down"):
        super().__init__(OTHER, message)


class UnknownMethod(StratumError):
    """A method the connection's dialect does not have (JSON-RPC 2.0
    dialects answer it with their own "method not found" code)."""

    def __init__(self, method):
        super().__init__(OTHER, "Unknown method %r" % method[:64])
