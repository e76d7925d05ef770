"""gxcpool-admin: operator commands on the ledger (see --help)."""
import argparse
import sys

from gxcpoold.config import ConfigError, load_config
from gxcpoold.ledger import migrate
from gxcpoold.ledger.db import Database


def _database(args) -> Database:
    url = args.database_url
    if not url:
        url = load_config(args.config).database_url
    return Database(url)


def cmd_db_upgrade(args, db):
    before, after = migrate.upgrade(db.engine)
    print("database schema: %s -> %s" % (before or "empty", after))


def build_parser():
    parser = argparse.ArgumentParser(prog="gxcpool-admin", description=__doc__)
    parser.add_argument("--config", "-c", help="gxcpool TOML configuration (default as twistd)")
    parser.add_argument("--database-url", help="database URL; overrides the configuration")
    commands = parser.add_subparsers(dest="group", required=True)
    db = commands.add_parser("db", help="schema").add_subparsers(dest="command", required=True)
    db.add_parser("upgrade", help="apply pending migrations").set_defaults(run=cmd_db_upgrade)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        db = _database(args)
    except ConfigError as e:
        print("gxcpool-admin: configuration error: %s" % e, file=sys.stderr)
        return 2
    try:
        return args.run(args, db) or 0
    except migrate.SchemaError as e:
        print("gxcpool-admin: %s" % e, file=sys.stderr)
        return 1
    finally:
        db.close()


if __name__ == "__main__":
    sys.exit(main())
