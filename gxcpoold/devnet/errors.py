"""JSON-RPC error codes of the node (spec §1.5) and the exception carrying them."""

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INTERNAL_ERROR = -32603
INVALID_PARAMETER = -8
INSUFFICIENT_FUNDS = -6
WALLET_ERROR = -4


class RpcError(Exception):
    """An error answer: code and exact message text."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
