"""gxcpool-admin: operator commands on the ledger.

  db upgrade                          apply pending schema migrations
  db backup PATH [--keep N]           consistent copy of the live SQLite ledger (PATH: file or dir)
  db restore BACKUP                   replace the SQLite ledger by a backup (the pool stopped)
  balances                            what the pool owes, and whether the books add up
  payouts list [--all]                unfinished and replaced (or all) payouts, a payout halt
  payouts resolve KEY --paid HEIGHT   the operator found it in block HEIGHT: confirmed
  payouts resolve KEY --not-paid      provably never paid: refunded to the balance
  payouts resume --reason TEXT        lift a payout halt
  adjust ACCOUNT AMOUNT --reason TEXT credit (AMOUNT > 0) or debit (< 0), in GXC, audited
  fee set ADDRESS FEE --reason TEXT   the address's own fee (0.005 = 0.5 %), audited
  fee clear ADDRESS [--reason TEXT]   back to the tiers and the pool fee, audited
  fee list                            addresses with their own fee
  fee show ADDRESS                    the fee the address pays now, and why
  ban add address|ip VALUE --reason TEXT [--hours H];  ban remove KIND VALUE;  ban list
  export ADDRESS [--output FILE]      a miner's history as CSV
  shares prune [--dry-run] [--difficulty D]
                                      delete shares no reward can still need
"""
import argparse
import getpass
import sys
import time

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from gxcpoold.amounts import AmountError, format_gxc, gxc_to_base_units
from gxcpoold.addresses import AddressError, check_address
from gxcpoold.config import ConfigError, database_url_error, load_config
from gxcpoold.ledger import accounts, bans, fees, history, meta, migrate, pruning
from gxcpoold.ledger import payoutstore as store
from gxcpoold.ledger import backup, ledgerlock
from gxcpoold.ledger.chainscan import PaymentSeen
from gxcpoold.ledger.db import Database
from gxcpoold.ledger.schema import balances, payouts
from gxcpoold.redact import redact


class CommandError(Exception):
    """A refusal to print as one line."""


def _database(args) -> Database:
    url = args.database_url
    if url:
        error = database_url_error(url)
        if error is not None:
            raise ConfigError("--database-url %s: %s" % (redact(repr(url)), error))
    else:
        url = load_config(args.config).database_url
    return Database(url)


def _actor(args):
    return args.actor or getpass.getuser()


def cmd_db_upgrade(args, db):
    before, after = migrate.upgrade(db.engine)
    print("database schema: %s -> %s" % (before or "empty", after))


def _sqlite_file(db, postgresql_hint):
    path = ledgerlock.sqlite_path(db.url)
    if path is None and db.sqlite:
        raise CommandError("%s is not a SQLite database file" % redact(db.url))
    if path is None:
        raise CommandError("the ledger is on PostgreSQL: " + postgresql_hint)
    return path


def cmd_db_backup(args, db):
    path = _sqlite_file(db, "back it up with pg_dump (password from ~/.pgpass or PGPASSWORD; "
                        "docs/backups.md): " + backup.pg_dump_command(db.url))
    started = time.monotonic()
    try:
        summary, pruned = backup.backup(path, args.path, keep=args.keep)
    except backup.BackupError as e:
        raise CommandError(str(e)) from None
    print("backup written to %s (%.1f s)" % (summary.describe(), time.monotonic() - started))
    for old in pruned:
        print("removed %s" % old)


def cmd_db_restore(args, db):
    path = _sqlite_file(db, "restore a pg_dump archive with pg_restore, the pool stopped "
                        "(docs/backups.md)")
    try:
        summary, kept = backup.restore(args.backup, path, actor=_actor(args))
    except ledgerlock.InUse as e:
        raise CommandError("refusing to restore: %s; stop the pool first" % e) from None
    except backup.BackupError as e:
        raise CommandError("refusing to restore: %s" % e) from None
    print("restored %s into %s" % (args.backup, summary.describe()))
    print("the previous database is kept as %s" % kept if kept
          else "there was no database at %s before" % path)
    if summary.revision != migrate.head_revision():
        print("the pool's next start upgrades the schema to %s" % migrate.head_revision())
    print("payouts are halted: payments sent after the backup are not in it; check them, "
          "then gxcpool-admin payouts resume --reason TEXT")


def cmd_balances(args, db):
    rows = db.run_sync(lambda c: c.execute(select(balances).order_by(balances.c.account)).all(),
                       write=False)
    for r in rows:
        print("%-40s %20s" % (r.account, format_gxc(r.amount)))
    wrong = db.run_sync(accounts.verify_balances, write=False)
    for account, stored, expected in wrong:
        print("MISMATCH %s: stored %s, expected %s" % (account, format_gxc(stored),
                                                       format_gxc(expected)))
    return 1 if wrong else 0


def cmd_payouts_list(args, db):
    def query(c):
        q = select(payouts).order_by(payouts.c.id)
        if not args.all:
            q = q.where(payouts.c.status.in_(store.UNFINISHED + (store.REPLACED,)))
        return c.execute(q).all(), store.halted(c)
    rows, halted = db.run_sync(query, write=False)
    if halted:
        print("PAYOUTS HALTED: %s" % halted)
    for r in rows:
        print("%-50s %-9s %18s start %-7d block %-7s txid %s  %s" % (
            r.idempotency_key, r.status, format_gxc(r.amount), r.start_height,
            r.block_height if r.block_height is not None else "-", r.txid or "-", r.note))
    if not rows:
        print("no %spayouts" % ("" if args.all else "unfinished "))


def cmd_payouts_resolve(args, db):
    actor = _actor(args)

    def resolve(c):
        row = c.execute(select(payouts).where(payouts.c.idempotency_key == args.key)).first()
        if row is None:
            raise CommandError("no payout %r" % args.key)
        if row.status not in store.UNFINISHED + (store.REPLACED,):
            raise CommandError("payout %s is already %s" % (args.key, row.status))
        note = "resolved by %s: %s" % (actor, args.reason)
        if args.not_paid and row.status == store.REPLACED:      # refunded when replaced
            store.retire(c, row.id, note)
            return "%s was refunded when it was replaced; now final" % args.key
        if args.not_paid:
            store.refund(c, row.id, note, actor=actor)
            return "refunded %s GXC to %s" % (format_gxc(row.amount), row.recipient)
        seen = PaymentSeen(height=args.paid, block_hash=args.block_hash or "", txid="",
                           recipient=row.recipient, amount=row.amount, fee=0, input_txid="",
                           input_index=None)
        store.confirm(c, row.id, seen, args.fee_account, actor=actor, note=note)
        accounts.record_audit(c, actor=actor, action="payout-resolved", account=row.recipient,
                              payout_id=row.id, reason=note)
        return "confirmed as paid in block %d" % args.paid
    print(db.run_sync(resolve))


def cmd_payouts_resume(args, db):
    db.run_sync(store.resume, _actor(args), args.reason)
    print("payouts resumed")


def cmd_adjust(args, db):
    try:
        amount = gxc_to_base_units(args.amount)
    except AmountError as e:
        raise CommandError("amount: %s" % e) from None
    try:
        db.run_sync(accounts.adjust, args.account, amount, actor=_actor(args), reason=args.reason)
    except ValueError as e:
        raise CommandError(str(e)) from None
    balance = db.run_sync(accounts.balance_of, args.account, write=False)
    print("%s %s GXC to %s; balance now %s GXC" % ("credited" if amount > 0 else "debited",
                                                   format_gxc(abs(amount)), args.account,
                                                   format_gxc(balance)))


def _config(args):
    try:
        return load_config(args.config)
    except ConfigError as e:
        raise CommandError("configuration: %s" % e) from None


def _miner_address(args, config):
    """The address argument, checked as the pool checks a miner's login."""
    try:
        return check_address(args.address, config.pool.network,
                             lenient=config.pool.miner_address_check == "lenient")
    except AddressError as e:
        raise CommandError(str(e)) from None


def _percent(fee) -> str:
    return "%s (%s %%)" % (fees.fee_text(fee), fees.fee_text(fee * 100))


def _when(timestamp) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))


def _hashrate(rate) -> str:
    for unit, size in (("TH/s", 1e12), ("GH/s", 1e9), ("MH/s", 1e6), ("kH/s", 1e3)):
        if rate >= size:
            return "%.3f %s" % (rate / size, unit)
    return "%.3f H/s" % rate


def cmd_fee_set(args, db):
    address = _miner_address(args, _config(args))
    try:
        fee = fees.parse_fee(args.fee)
    except ValueError as e:
        raise CommandError("fee %r: %s" % (args.fee, e)) from None
    if not args.reason.strip():
        raise CommandError("--reason must say why (it goes to the audit trail)")
    previous = db.run_sync(fees.set_fee, address, fee, actor=_actor(args), reason=args.reason,
                           now=time.time())
    print("%s now pays %s%s" % (address, _percent(fee), "" if previous is None
                                else "; was %s" % _percent(previous)))


def cmd_fee_clear(args, db):
    address = _miner_address(args, _config(args))
    previous = db.run_sync(fees.clear_fee, address, actor=_actor(args), reason=args.reason or "",
                           now=time.time())
    if previous is None:
        raise CommandError("%s has no fee of its own" % address)
    print("%s no longer has its own fee (was %s); tiers and the pool fee apply"
          % (address, _percent(previous)))


def cmd_fee_list(args, db):
    rows = db.run_sync(fees.list_fees, write=False)
    for r in rows:
        print("%-45s %-22s set %s by %s: %s" % (r["address"], _percent(r["fee"]),
                                               _when(r["set_at"]), r["set_by"], r["reason"]))
    if not rows:
        print("no address has a fee of its own; every miner pays the tiers or the pool fee")


def cmd_fee_show(args, db):
    config = _config(args)
    address = _miner_address(args, config)
    policy = fees.FeePolicy.from_config(config)
    found = db.run_sync(fees.effective_fee, address, time.time(), policy, write=False)
    print("%s pays %s" % (address, _percent(found["fee"])))
    if found["source"] == fees.ADDRESS:
        print("  why: its own fee, set %s by %s: %s" % (_when(found["set_at"]), found["set_by"],
                                                       found["reason"]))
    elif found["source"] == fees.TIER:
        print("  why: volume tier %d of [[pool.fee_tiers]] (from %s)"
              % (found["tier"] + 1, _hashrate(found["min_hashrate"])))
    else:
        print("  why: the pool fee ([pool] fee)%s" % (
            "; it reaches no volume tier" if policy.tiers else ""))
    print("  24 h average accepted hashrate: %s" % _hashrate(found["hashrate_24h"]))
    print("  pool fee %s%s" % (_percent(policy.default), "".join(
        "; tier %d: %s from %s" % (i + 1, _percent(t.fee), _hashrate(t.min_hashrate))
        for i, t in enumerate(policy.tiers))))


def cmd_ban_add(args, db):
    db.run_sync(bans.ban, args.kind, args.value, args.reason, hours=args.hours)
    db.run_sync(accounts.record_audit, actor=_actor(args), action="ban",
                reason="%s %s: %s" % (args.kind, args.value, args.reason))
    print("banned %s %s" % (args.kind, args.value))


def cmd_ban_remove(args, db):
    if not db.run_sync(bans.unban, args.kind, args.value):
        raise CommandError("%s %s is not banned" % (args.kind, args.value))
    db.run_sync(accounts.record_audit, actor=_actor(args), action="unban",
                reason="%s %s" % (args.kind, args.value))
    print("unbanned %s %s" % (args.kind, args.value))


def cmd_ban_list(args, db):
    for b in db.run_sync(bans.active_bans, write=False):
        print("%-8s %-45s %s" % (b.kind, b.value, b.reason))


def cmd_export(args, db):
    rows = db.run_sync(history.miner_history, args.address, write=False)
    if args.output:
        with open(args.output, "w", newline="", encoding="utf-8") as f:
            history.write_csv(rows, f)
    else:
        history.write_csv(rows, sys.stdout)


def _prune_difficulty(args, db):
    """--difficulty, else the network difficulty the daemon last saw."""
    if args.difficulty is not None:
        if not args.difficulty >= 0:
            raise CommandError("--difficulty must not be negative")
        return args.difficulty
    seen = db.run_sync(meta.get, pruning.NETWORK_DIFFICULTY, write=False)
    return float(seen) if seen is not None else None


def cmd_shares_prune(args, db):
    rule = pruning.PruneRule.from_config(load_config(args.config))
    difficulty = _prune_difficulty(args, db)
    result = pruning.run_steps_sync(db, pruning.prune_round(rule, difficulty, time.time(),
                                                            dry_run=args.dry_run))
    print(pruning.describe(result.cutoff))
    if result.cutoff.time is not None:
        print("%d shares %s" % (result.count, "would be deleted (dry run)" if args.dry_run
                                else "deleted"))


def build_parser():
    parser = argparse.ArgumentParser(prog="gxcpool-admin", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", "-c", help="gxcpool TOML configuration (as for twistd)")
    parser.add_argument("--database-url", help="database URL; overrides the configuration")
    parser.add_argument("--actor", help="name recorded in the audit trail (default: login)")
    top = parser.add_subparsers(dest="group", required=True)

    db = top.add_parser("db", help="schema, backup, restore").add_subparsers(
        dest="command", required=True)
    db.add_parser("upgrade", help="apply pending migrations").set_defaults(run=cmd_db_upgrade)
    bk = db.add_parser("backup", help="consistent copy of the live SQLite ledger "
                       "(PostgreSQL: pg_dump, docs/backups.md)")
    bk.add_argument("path", help="file, or directory for a timestamped gxcpool-backup-*.sqlite3")
    bk.add_argument("--keep", type=int, metavar="N",
                    help="PATH a directory: keep its newest N timestamped backups, remove older")
    bk.set_defaults(run=cmd_db_backup)
    rs = db.add_parser("restore", help="replace the SQLite ledger by a backup (pool stopped; "
                       "the current one is kept as *.before-restore-<time>)")
    rs.add_argument("backup", help="a file written by db backup")
    rs.set_defaults(run=cmd_db_restore)

    top.add_parser("balances", help="balances and a consistency check").set_defaults(
        run=cmd_balances)

    pay = top.add_parser("payouts", help="payouts").add_subparsers(dest="command", required=True)
    lst = pay.add_parser("list", help="unfinished payouts (--all: every payout)")
    lst.add_argument("--all", action="store_true")
    lst.set_defaults(run=cmd_payouts_list)
    res = pay.add_parser("resolve", help="settle a payout reconciliation could not")
    res.add_argument("key", help="idempotency key, e.g. tGXC...#3")
    how = res.add_mutually_exclusive_group(required=True)
    how.add_argument("--paid", type=int, metavar="HEIGHT", help="found in block HEIGHT")
    how.add_argument("--not-paid", action="store_true", help="never paid: refund")
    res.add_argument("--block-hash", help="hash of the block it was found in")
    res.add_argument("--fee-account", default="@pool-fee")
    res.add_argument("--reason", required=True)
    res.set_defaults(run=cmd_payouts_resolve)
    resume = pay.add_parser("resume", help="lift a payout halt")
    resume.add_argument("--reason", required=True)
    resume.set_defaults(run=cmd_payouts_resume)

    adj = top.add_parser("adjust", help="credit or debit an account (GXC), audited")
    adj.add_argument("account")
    adj.add_argument("amount", help="GXC, negative for a debit (e.g. -0.5)")
    adj.add_argument("--reason", required=True)
    adj.set_defaults(run=cmd_adjust)

    fee = top.add_parser("fee", help="per-address fees (docs/fees.md)").add_subparsers(
        dest="command", required=True)
    fset = fee.add_parser("set", help="give an address its own fee, audited")
    fset.add_argument("address")
    fset.add_argument("fee", help="a fraction of the reward: 0.005 = 0.5 %%; from 0 up to 1")
    fset.add_argument("--reason", required=True)
    fset.set_defaults(run=cmd_fee_set)
    fclear = fee.add_parser("clear", help="remove an address's own fee, audited")
    fclear.add_argument("address")
    fclear.add_argument("--reason", default="")
    fclear.set_defaults(run=cmd_fee_clear)
    fee.add_parser("list", help="addresses with their own fee").set_defaults(run=cmd_fee_list)
    fshow = fee.add_parser("show", help="the fee an address pays now, and why")
    fshow.add_argument("address")
    fshow.set_defaults(run=cmd_fee_show)

    ban = top.add_parser("ban", help="bans").add_subparsers(dest="command", required=True)
    add = ban.add_parser("add")
    add.add_argument("kind", choices=bans.KINDS)
    add.add_argument("value")
    add.add_argument("--reason", required=True)
    add.add_argument("--hours", type=float)
    add.set_defaults(run=cmd_ban_add)
    rm = ban.add_parser("remove")
    rm.add_argument("kind", choices=bans.KINDS)
    rm.add_argument("value")
    rm.set_defaults(run=cmd_ban_remove)
    ban.add_parser("list").set_defaults(run=cmd_ban_list)

    exp = top.add_parser("export", help="a miner's history as CSV")
    exp.add_argument("address")
    exp.add_argument("--output", "-o")
    exp.set_defaults(run=cmd_export)

    sh = top.add_parser("shares", help="shares").add_subparsers(dest="command", required=True)
    prune = sh.add_parser("prune", help="delete shares no reward can still need "
                          "(rule: [payouts] share_* settings, docs/ledger.md)")
    prune.add_argument("--dry-run", action="store_true", help="report, delete nothing")
    prune.add_argument("--difficulty", type=float, metavar="D",
                       help="current network difficulty (default: the last the daemon saw)")
    prune.set_defaults(run=cmd_shares_prune)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        db = _database(args)
    except ConfigError as e:
        print("gxcpool-admin: configuration error: %s" % e, file=sys.stderr)
        return 2
    except OSError as e:            # e.g. the SQLite file's directory cannot be created
        print("gxcpool-admin: cannot open the database: %s" % e, file=sys.stderr)
        return 2
    try:
        return args.run(args, db) or 0
    except (CommandError, migrate.SchemaError) as e:
        print("gxcpool-admin: %s" % e, file=sys.stderr)
        return 1
    except OperationalError as e:
        # the database is unreachable or its file cannot be opened: say so in one line
        print("gxcpool-admin: cannot use the database %s: %s"
              % (redact(db.url), str(e.orig).strip().splitlines()[0]), file=sys.stderr)
        return 1
    finally:
        db.close()


if __name__ == "__main__":
    sys.exit(main())
