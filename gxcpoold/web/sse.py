"""(being written)"""


def add_routes(app, ctx):
    pass
