#!/usr/bin/env bash
# Runs the real-systemd suite (test/systemd/agent-systemd.test.ts) in the QEMU VM fixture with
# systemd as PID 1 (test/vm/run.sh --systemd): the Debian package (npm run package, which
# compiles the TypeScript, when the one in dist/package is older than its sources) is copied
# where the guest sees it, and the suite installs it there with apt as the README says (its
# writes land in the guest's overlay only). The guest's root is this machine's root, so its
# dpkg database is this one: it is packed here into one tar file, which the guest unpacks
# onto a tmpfs over /var/lib/dpkg, because dpkg reading its ~4000 small files over 9p under
# TCG took 1.5 to 5 min (one 35 MB file: seconds).
# Usage: test/systemd/run.sh [REPORT_DIR]   (REPORT_DIR receives systemd.json)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
reports=${1:-}

# A package newer than every source it is made of (run-all.sh's package step built it) is
# used as it is; otherwise it is built again (~25 s to 2 min).
debs=(dist/package/hostnet_*.deb)
if [[ ! -f ${debs[0]} ]] ||
  [[ -n $(find agent dataplane dhcp systemd packaging package.json package-lock.json -newer "${debs[0]}" -print -quit) ]]; then
  npm run --silent package >/dev/null || { echo "test/systemd/run.sh: npm run package failed" >&2; exit 1; }
  debs=(dist/package/hostnet_*.deb)
fi
[[ -f ${debs[0]} ]] || { echo "test/systemd/run.sh: npm run package made no .deb" >&2; exit 1; }
# A copy of our own: the guest sees the host's /var/tmp (not its /tmp), and another build of
# dist/package may run meanwhile.
stage=$(mktemp -d /var/tmp/hostnet-systemd.XXXXXX)
trap 'rm -rf "$stage"' EXIT
cp "${debs[0]}" "$stage/"
deb=$stage/$(basename "${debs[0]}")
tar -C /var/lib/dpkg -cf "$stage/dpkg.tar" . ||
  { echo "test/systemd/run.sh: cannot pack /var/lib/dpkg into $stage/dpkg.tar" >&2; exit 1; }

vitest=(node_modules/.bin/vitest run --config test/systemd/vitest.config.ts --reporter=default) # not npx (slow over 9p)
[[ -n $reports ]] && vitest+=(--reporter=json "--outputFile.json=$reports/systemd.json")
opts=(--systemd --timeout 600 --env CI=true --env "HOSTNET_DEB=$deb" --env "HOSTNET_DPKG_TAR=$stage/dpkg.tar")
[[ -n $reports ]] && opts+=(--rw "$reports")
echo "test/systemd/run.sh: running the suite in the VM fixture under systemd ($(basename "$deb"))"
bash test/vm/run.sh "${opts[@]}" -- "${vitest[@]}"
