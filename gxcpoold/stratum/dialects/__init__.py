"""What miners say on the wire, one module per dialect (DESIGN.md section 3).

A dialect turns a connection's requests into calls on the session core
(gxcpoold/stratum/session.py) and the core's jobs and difficulties into the
lines its miners expect.  It holds only its own wire state (negotiated
masks, subscriptions); everything shared by all dialects -- workers,
vardiff, the difficulty each job went out at, abuse counting, the share
check -- is the session's.

A port whose algorithm lists several dialects picks one per connection from
its first request (`claims`) and keeps it.
"""
import abc
import importlib

from gxcpoold.stratum.errors import MalformedRequest
from gxcpoold.stratum.lineproto import encode
from gxcpoold.stratum.session import param_string


def load(name):
    """The Dialect class of gxcpoold.stratum.dialects.<name>."""
    return importlib.import_module("gxcpoold.stratum.dialects." + name).DIALECT


class Dialect(abc.ABC):
    __slots__ = ("session",)          # one per connection: no __dict__
    NAME = "?"
    HANDLERS = {}             # method -> name of the method on this class handling it

    def __init__(self, session):
        self.session = session

    @classmethod
    def claims(cls, method, params):
        """Whether a connection whose first request is this one speaks this dialect."""
        return method in cls.HANDLERS

    # ------------------------------------------------------------ shared handlers

    def user_agent(self, params):
        """The miner's software name, the first subscribe parameter (optional)."""
        if params and params[0] is not None:
            return param_string(params, 0, "user agent")
        return None

    def authorize(self, params):
        """mining.authorize [username, password]: a worker of this connection."""
        if not params:
            raise MalformedRequest("Invalid params: expected [username, password]")
        username = param_string(params, 0, "username")
        self.session.authorize(username, params[1] if len(params) > 1 else None)
        return True

    # ------------------------------------------------------------ replies

    def result_line(self, request_id, result):
        return encode({"id": request_id, "result": result, "error": None})

    def error_line(self, request_id, error):
        return encode({"id": request_id, "result": None, "error": error.as_json()})

    def shown_difficulty(self, difficulty):
        """A difficulty in the unit the miner was told (messages quote it)."""
        return difficulty

    # ------------------------------------------------------------ pushes

    @abc.abstractmethod
    def send_difficulty(self, difficulty):
        """Tell the miner its share difficulty (the core's units: the algorithm's own)."""

    @abc.abstractmethod
    def send_job(self, job, clean_jobs, difficulty):
        """Send a job the miner must work on at `difficulty`."""

    def show_message(self, text):
        """A message for the miner's operator, where the dialect has a way to show one."""

    def reconnect(self):
        """Ask the miner to come back (the pool is shutting down)."""

    def handle_response(self, message):
        """A reply to a request the pool sent."""
