#!/usr/bin/env bash
# The Debian package end to end, as CI does it: build it with
# packaging/debian/build-deb, `dpkg -i`, run the installed /usr/bin/sonde
# (--version, doctor against a target), then purge it and check that nothing
# of it is left. Root only (suite 'root': CI, as root, refuses its skip);
# skipped (77) where sonde is already installed, so the machine is left
# exactly as it was found, and with SONDE_CI_QUICK=1 (local quick runs).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then echo "SKIPPED (needs root): dpkg -i" >&2; exit 77; fi
if [ "${SONDE_CI_QUICK:-0}" = 1 ]; then echo "SKIPPED (SONDE_CI_QUICK=1): the package build and dpkg -i" >&2; exit 77; fi
if dpkg-query -W -f='${Status}' sonde 2>/dev/null | grep -q installed || [ -e /usr/bin/sonde ]; then
  echo "SKIPPED: a sonde is already installed here; not touching it" >&2
  exit 77
fi

tmp="$(mktemp -d)"
node_pid=""
cleanup() {
  [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null || true
  # Whatever failed, take the package away again (purge: the conffile too).
  dpkg-query -W sonde >/dev/null 2>&1 && dpkg --purge sonde >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

deb="$("$SONDE_SRC/packaging/debian/build-deb" --out "$tmp" | tail -n 1)"
[ -f "$deb" ] || fail "build-deb made no package"
echo "built $deb"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
# (Into files, not `| grep -q`: grep's early exit would SIGPIPE the writer under pipefail.)
dpkg-deb --contents "$deb" >"$tmp/contents"
grep -q ' ./usr/bin/sonde-demo-node$' "$tmp/contents" || fail "sonde-demo-node not in the package"

dpkg -i "$deb" || fail "dpkg -i refused the package"
for f in /usr/bin/sonde /usr/bin/sonde-demo-node /etc/sonde/sonde.json /usr/share/man/man1/sonde.1.gz \
         /usr/lib/systemd/system/sonde.service /usr/lib/systemd/system/sonde@.service; do
  [ -e "$f" ] || fail "$f not installed"
done
grep -qx /etc/sonde/sonde.json /var/lib/dpkg/info/sonde.conffiles || fail "sonde.json is not a conffile"

/usr/bin/sonde --version | grep -q '^sonde [0-9]' || fail "sonde --version"
zcat /usr/share/man/man1/sonde.1.gz >"$tmp/sonde.1"
grep -q '^\.SH "sonde doctor"' "$tmp/sonde.1" || fail "the man page has no doctor section"
if command -v systemd-analyze >/dev/null; then
  # Installed, the units name the real binary and their man page exists.
  systemd-analyze verify /usr/lib/systemd/system/sonde.service /usr/lib/systemd/system/sonde@.service \
    || fail "systemd-analyze verify on the installed units"
fi

"$SONDE_TARGET_CHAIN_C" >"$tmp/node.out" 2>&1 &
node_pid=$!
for _ in $(seq 100); do grep -q ready "$tmp/node.out" && break; sleep 0.1; done
/usr/bin/sonde doctor --pid "$node_pid" | tee "$tmp/doctor.out" || fail "installed sonde doctor says attach will not work"
grep -q "^ok    ptrace permission:" "$tmp/doctor.out" || fail "doctor: no ptrace permission line"
/usr/bin/sonde stacks --pid "$node_pid" >"$tmp/stacks.out" || fail "installed sonde stacks failed"
grep -q chain_inner "$tmp/stacks.out" || fail "installed sonde stacks does not name chain_inner"

dpkg -r sonde
for f in /usr/bin/sonde /usr/bin/sonde-demo-node /usr/share/man/man1/sonde.1.gz \
         /usr/lib/systemd/system/sonde.service /usr/lib/systemd/system/sonde@.service; do
  [ ! -e "$f" ] || fail "$f left after dpkg -r"
done
# dpkg -r keeps the operator's conffile by design; purge removes it.
[ -e /etc/sonde/sonde.json ] || fail "dpkg -r removed the conffile"
dpkg --purge sonde
[ ! -e /etc/sonde ] || fail "/etc/sonde left after purge"
echo "ok: built, installed, ran, removed"
