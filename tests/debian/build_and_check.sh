#!/usr/bin/env bash
# Build the gxcpool .deb from this checkout and check what it installs.
#
#   tests/debian/build_and_check.sh            build, unpack into a throwaway root, check
#   tests/debian/build_and_check.sh --system   also install it on this machine with apt
#                                              (as root; CI does this), run the daemon as
#                                              the gxcpool user, then purge the package
#
# Slow (a few minutes: the private Python environment is filled from PyPI), so
# it is a separate CI step after `make test`.  Needs the build dependencies
# (debian/control); --install-deps installs them with apt-get first.
# Output: the .deb and its logs in $GXCPOOL_DEB_OUT (default: a temporary directory).
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
system=0
install_deps=0
for arg in "$@"; do
  case $arg in
    --system) system=1 ;;
    --install-deps) install_deps=1 ;;
    *) echo "usage: $0 [--install-deps] [--system]" >&2; exit 2 ;;
  esac
done

step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

out=${GXCPOOL_DEB_OUT:-$(mktemp -d /tmp/gxcpool-deb.XXXXXX)}
mkdir -p "$out"
work=$(mktemp -d /tmp/gxcpool-debbuild.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

if [ $install_deps = 1 ]; then
  step "build dependencies (apt-get build-dep on debian/control)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends build-essential fakeroot git >/dev/null
  (cd "$here" && apt-get build-dep -y -qq ./ >/dev/null)
fi

step "copy the source tree (tracked and new files, not ignored ones)"
src="$work/gxcpool-0.1.0"
mkdir -p "$src"
(cd "$here" && git ls-files -z -co --exclude-standard \
   | tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$src"

step "dpkg-buildpackage -us -uc -b"
start=$(date +%s)
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 \
  || { tail -40 "$out/build.log"; fail "dpkg-buildpackage (full log: $out/build.log)"; }
seconds=$(( $(date +%s) - start ))
deb=$(ls "$work"/gxcpool_*.deb)
cp "$deb" "$out/"
deb="$out/$(basename "$deb")"
echo "built $(basename "$deb"): $(du -k "$deb" | cut -f1) KiB in ${seconds} s"

step "package contents"
dpkg-deb -c "$deb" >"$out/contents.txt"
site=usr/lib/gxcpool/lib/python3.11/site-packages
for path in usr/lib/gxcpool/bin/twistd usr/lib/gxcpool/bin/python3 \
            "$site/gxcpoold/tap.py" "$site/gxcpoold/reload.py" \
            "$site/twisted/plugins/gxcpool_plugin.py" "$site/twisted/plugins/gxcdevnode_plugin.py" \
            "$site/klein/__init__.py" "$site/sqlalchemy/__init__.py" "$site/alembic/__init__.py" \
            etc/gxcpool/gxcpool.toml lib/systemd/system/gxcpool.service \
            lib/systemd/system/gxcpool-backup.service lib/systemd/system/gxcpool-backup.timer \
            usr/share/doc/gxcpool/bundled-python-packages.txt usr/share/doc/gxcpool/backups.md \
            usr/share/doc/gxcpool/operator-guide.md usr/share/doc/gxcpool/configuration.md; do
  grep -q " \./$path\( \|$\)" "$out/contents.txt" || fail "$path is not in the package"
done
grep -q " \./$site/gxcpoold/_native.*\.so" "$out/contents.txt" || fail "the native extension is missing"
grep -q "__pycache__\|\.pyc$" "$out/contents.txt" && fail "the package ships byte code"
grep -q "bin/activate\|Activate.ps1" "$out/contents.txt" && fail "the package ships venv activate scripts"
[ -z "$(dpkg-deb -I "$deb" shlibs 2>/dev/null)" ] || fail "the package declares shlibs for bundled libraries"
# (no `cmd | grep -q` here: with pipefail, grep's early exit fails the pipeline)
[ "$(dpkg-deb -I "$deb" conffiles)" = /etc/gxcpool/gxcpool.toml ] || fail "gxcpool.toml is not a conffile"
dpkg-deb -f "$deb" Depends
echo "contents ok"

step "unpack into a throwaway root"
root="$work/root"
dpkg-deb -x "$deb" "$root"
# The private interpreter is a relative link to /usr/bin/python3.11 (the
# package depends on python3.11): provide that inside the throwaway root.
mkdir -p "$root/usr/bin"
ln -s /usr/bin/python3.11 "$root/usr/bin/python3.11"
py="$root/usr/lib/gxcpool/bin/python3"
twistd=("$py" "$root/usr/lib/gxcpool/bin/twistd")
[ "$(head -1 "$root/usr/lib/gxcpool/bin/twistd")" = '#!/usr/lib/gxcpool/bin/python3' ] \
  || fail "twistd's shebang does not point at the private interpreter"
cmp -s "$root/etc/gxcpool/gxcpool.toml" "$here/etc/gxcpool.toml" || fail "gxcpool.toml differs from etc/gxcpool.toml"

# Run from a neutral directory with a clean environment: only the packaged
# files may be used, never this checkout or its .venv.
clean_env=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/nonexistent)

step "twistd gxcpool --help (unpacked files)"
(cd "$work" && "${clean_env[@]}" "${twistd[@]}" gxcpool --help) >"$out/help.txt" \
  || { cat "$out/help.txt"; fail "twistd gxcpool --help"; }
grep -q -- "--devnet" "$out/help.txt" || fail "--help does not list --devnet"
(cd "$work" && "${clean_env[@]}" "$py" -c '
import sys, gxcpoold, twisted.plugins.gxcpool_plugin as p, gxcpoold._native
assert gxcpoold.__file__.startswith(sys.prefix), gxcpoold.__file__
assert p.__file__.startswith(sys.prefix), p.__file__
print("imports from", sys.prefix)') || fail "the unpacked tree imports from elsewhere"

if [ -e "$root/usr/lib/gxcpool/bin/gxcpool-admin" ]; then
  step "database migrations ship with the package (gxcpool-admin db upgrade, unpacked files)"
  (cd "$work" && "${clean_env[@]}" "$py" "$root/usr/lib/gxcpool/bin/gxcpool-admin" \
     --database-url "sqlite:///$work/admin.sqlite3" db upgrade) || fail "gxcpool-admin db upgrade"
  step "gxcpool-admin db backup and db restore (unpacked files)"
  admin=("${clean_env[@]}" "$py" "$root/usr/lib/gxcpool/bin/gxcpool-admin")
  (cd "$work" && "${admin[@]}" --database-url "sqlite:///$work/admin.sqlite3" \
     db backup --keep 2 "$work/backups/") || fail "gxcpool-admin db backup"
  saved=$(ls "$work"/backups/gxcpool-backup-*.sqlite3)
  (cd "$work" && "${admin[@]}" --database-url "sqlite:///$work/restored/gxcpool.sqlite3" \
     db restore "$saved" && "${admin[@]}" --database-url "sqlite:///$work/restored/gxcpool.sqlite3" \
     balances) || fail "gxcpool-admin db restore"
fi

step "the backup timer ships off, the pool's unit stays enabled"
# The package's own dh_installsystemd postinst sections, run against the unpacked
# root (DPKG_ROOT): what `apt install` enables on a new machine.
ctl="$work/control"
dpkg-deb -e "$deb" "$ctl"
awk '/^# Automatically added by dh_installsystemd/,/^# End automatically added section/' \
  "$ctl/postinst" >"$work/postinst-systemd"
grep -q "gxcpool-backup.timer" "$work/postinst-systemd" || fail "the postinst does not know the backup timer"
grep -q "deb-systemd-invoke start 'gxcpool-backup" "$work/postinst-systemd" \
  && fail "the postinst starts the backup timer"
DPKG_ROOT="$root" DPKG_MAINTSCRIPT_PACKAGE=gxcpool DPKG_MAINTSCRIPT_NAME=postinst \
  sh "$work/postinst-systemd" configure || fail "the postinst's systemd sections"
wants="$root/etc/systemd/system"
[ -L "$wants/multi-user.target.wants/gxcpool.service" ] || fail "gxcpool.service is not enabled"
[ ! -e "$wants/timers.target.wants/gxcpool-backup.timer" ] || fail "gxcpool-backup.timer is enabled"
if command -v systemctl >/dev/null; then
  [ "$(systemctl --root="$root" is-enabled gxcpool-backup.timer)" = disabled ] \
    || fail "systemctl is-enabled gxcpool-backup.timer"
fi
echo "gxcpool.service enabled, gxcpool-backup.timer installed and disabled"

# devnet_start RUNNER... : a short --devnet run until the first template, then SIGTERM.
devnet_start() {
  local log="$1"; shift
  local state="$1"; shift
  "$@" --nodaemon --pidfile= --logger gxcpoold.logs.journald_observer gxcpool \
       --config /dev/null --devnet --state-dir "$state" \
       --stratum-endpoint tcp:0:interface=127.0.0.1 --web-endpoint tcp:0:interface=127.0.0.1 \
       >"$log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  local waited=0
  until grep -q "new template height=1 " "$log"; do
    kill -0 "$pid" 2>/dev/null || { cat "$log"; fail "the daemon exited before its first template"; }
    [ $waited -lt 120 ] || { cat "$log"; fail "no template within 120 s"; }   # trap kills it
    sleep 1; waited=$((waited + 1))
  done
  # the dashboard, its static files and the API answer from the packaged files
  local url
  url=$(grep -o "dashboard and API on http://[0-9.]*:[0-9]*/" "$log" | head -1 | sed 's/.* on //')
  [ -n "$url" ] || { cat "$log"; fail "no 'dashboard and API on' line in the log"; }
  python3 - "$url" <<'PYEOF' || { cat "$log"; fail "the dashboard did not answer"; }
import sys, time, urllib.request
base = sys.argv[1]
for path, needle in (("", b"<nav"), ("static/style.css", b"{"), ("api/stats", b'"pool_name"'),
                     ("api/openapi.json", b'"openapi"')):
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + path, timeout=10) as answer:
                body = answer.read()
            assert needle in body, (path, body[:200])
            break
        except Exception as e:            # the ledger may still be migrating
            if time.monotonic() > deadline:
                raise SystemExit("%s%s: %s" % (base, path, e))
            time.sleep(1)
print("dashboard and API answer at", base)
PYEOF
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  # twistd re-raises the SIGTERM it stopped on (143 = 128 + 15): a clean stop.
  [ $rc = 0 ] || [ $rc = 143 ] || { cat "$log"; fail "exit status $rc after SIGTERM"; }
  grep -q "Server Shut Down" "$log" || { cat "$log"; fail "no clean shutdown"; }
  grep -q "Traceback" "$log" && { cat "$log"; fail "a traceback in the log"; }
  grep "new template height=1 " "$log"
}

step "short --devnet start (unpacked files)"
devnet_env=("${clean_env[@]}" GXCPOOL_DEVNET_ENDPOINT=tcp:0:interface=127.0.0.1
            GXCPOOL_STRATUM_ETHASH_ENDPOINT=tcp:0:interface=127.0.0.1
            GXCPOOL_STRATUM_GXHASH_ENDPOINT=tcp:0:interface=127.0.0.1)
cd "$work"
devnet_start "$out/devnet-unpacked.log" "$work/state" "${devnet_env[@]}" "${twistd[@]}"

step "systemd-analyze verify"
# verify_unit FILE: systemd-analyze exits 0 on warnings too, so any output fails.
verify_unit() {
  if systemd-analyze verify "$1" >"$out/verify.log" 2>&1 && [ ! -s "$out/verify.log" ]; then
    echo "verify ok: $1"
  else
    cat "$out/verify.log"; fail "systemd-analyze verify $1"
  fi
}
have_systemd_analyze=0
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIPPED: systemd-analyze is not installed on this machine (no systemd)"
else
  have_systemd_analyze=1
  # It also checks that ExecStart= exists: point the unit's private paths into the
  # unpacked root (--system verifies the installed unit unchanged).
  sed "s|/usr/lib/gxcpool/|$root/usr/lib/gxcpool/|g" "$root/lib/systemd/system/gxcpool.service" \
    >"$work/gxcpool.service"
  verify_unit "$work/gxcpool.service"
  systemd-analyze security --offline=true "$work/gxcpool.service" 2>/dev/null | tail -1 || true
  sed "s|/usr/lib/gxcpool/|$root/usr/lib/gxcpool/|g" "$root/lib/systemd/system/gxcpool-backup.service" \
    >"$work/gxcpool-backup.service"
  cp "$root/lib/systemd/system/gxcpool-backup.timer" "$work/"
  verify_unit "$work/gxcpool-backup.service"
  verify_unit "$work/gxcpool-backup.timer"        # finds its service beside it
  systemd-analyze security --offline=true "$work/gxcpool-backup.service" 2>/dev/null | tail -1 || true
fi

if [ $system = 1 ]; then
  step "apt install ./$(basename "$deb") on this machine"
  [ "$(id -u)" = 0 ] || fail "--system needs root"
  ! dpkg -s gxcpool >/dev/null 2>&1 \
    || fail "gxcpool is already installed here; --system is for a machine without it"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "$deb" >"$out/install.log" 2>&1 || { cat "$out/install.log"; fail "apt install"; }
  getent passwd gxcpool >/dev/null || fail "no gxcpool user"
  [ $have_systemd_analyze = 1 ] && verify_unit /lib/systemd/system/gxcpool.service
  [ $have_systemd_analyze = 1 ] && verify_unit /lib/systemd/system/gxcpool-backup.timer
  [ ! -e /etc/systemd/system/timers.target.wants/gxcpool-backup.timer ] || fail "the backup timer is enabled"
  [ -d /var/backups/gxcpool ] && [ "$(stat -c %U:%a /var/backups/gxcpool)" = gxcpool:750 ] \
    || fail "/var/backups/gxcpool"
  [ -d /var/lib/gxcpool ] && [ "$(stat -c %U /var/lib/gxcpool)" = gxcpool ] || fail "/var/lib/gxcpool"
  ls /usr/lib/gxcpool/lib/python3.11/site-packages/twisted/plugins/dropin.cache >/dev/null \
    || fail "postinst did not write the plugin cache"
  [ -n "$(find /usr/lib/gxcpool -name '*.pyc' -print -quit)" ] || fail "postinst did not byte-compile"
  as_pool=(runuser -u gxcpool --)
  (cd / && "${as_pool[@]}" "${clean_env[@]}" /usr/lib/gxcpool/bin/twistd gxcpool --help >/dev/null) \
    || fail "twistd gxcpool --help as gxcpool"
  state=$(mktemp -d /tmp/gxcpool-state.XXXXXX)
  chown gxcpool: "$state"
  cd /
  devnet_start "$out/devnet-system.log" "$state" "${as_pool[@]}" "${devnet_env[@]}" \
     /usr/lib/gxcpool/bin/twistd
  grep -q "Unable to write to plugin cache" "$out/devnet-system.log" \
    && fail "the daemon tried to rewrite the plugin cache"
  # what gxcpool-backup.service runs, as the gxcpool user, on the run's ledger
  (cd / && "${as_pool[@]}" "${clean_env[@]}" /usr/lib/gxcpool/bin/gxcpool-admin \
     --database-url "sqlite:///$state/gxcpool.sqlite3" db backup --keep 1 /var/backups/gxcpool/) \
    || fail "gxcpool-admin db backup as gxcpool into /var/backups/gxcpool"
  rm -f /var/backups/gxcpool/gxcpool-backup-*.sqlite3
  rm -rf "$state"
  step "purge"
  apt-get purge -y -qq gxcpool >"$out/purge.log" 2>&1 || { cat "$out/purge.log"; fail "purge"; }
  [ ! -e /usr/lib/gxcpool ] || { find /usr/lib/gxcpool | head; fail "files left in /usr/lib/gxcpool"; }
  [ ! -e /etc/gxcpool/gxcpool.toml ] || fail "purge left the configuration"
fi

step "done"
echo "package: $deb ($(du -k "$deb" | cut -f1) KiB, built in ${seconds} s)"
