#!/usr/bin/env bash
# Every test, as CI runs them (as root): build and typecheck, unit tests, integration tests in
# network namespaces (both backends, DHCP), end-to-end tests of the agent, the Debian package
# (built, installed with dpkg, purged), the VLAN suite
# (natively or in the VM fixture), port security on Debian's kernel (in the VM fixture), the
# agent under real systemd (the package in the VM fixture booted with systemd), then a check that nothing was left behind. Ends with one line: "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[[ $(id -u) == 0 ]] || { echo "test/run-all.sh: run as root (tests create network namespaces)" >&2; exit 1; }
reports=$(mktemp -d /tmp/hostnet-reports.XXXXXX)
trap 'rm -rf "$reports"' EXIT
status=0
step() { echo; echo "=== $*"; }

step "build (tsc, strict)"
npm run --silent build || { echo "build failed"; exit 1; }

step "unit tests"
npx vitest run --project unit --reporter=default --reporter=json "--outputFile.json=$reports/unit.json" || status=1

step "integration tests (network namespaces, netlink and iproute2 backends)"
npx vitest run --project integration --reporter=default --reporter=json "--outputFile.json=$reports/integration.json" || status=1

step "end-to-end tests (the real agent process, gRPC, hostnetctl, systemd unit)"
npx vitest run --project e2e --reporter=default --reporter=json "--outputFile.json=$reports/e2e.json" || status=1

step "the Debian package (npm run package, lintian, dpkg install, remove, purge)"
npx vitest run --project package --reporter=default --reporter=json "--outputFile.json=$reports/package.json" || status=1

step "VLAN tests (802.1Q)"
bash test/vlan/run.sh "$reports" || status=1

step "port security on Debian's kernel (always in the VM fixture)"
bash test/debian-kernel/run.sh "$reports" || status=1

step "hostnet-agent under real systemd (the package in the VM fixture, systemd as PID 1)"
bash test/systemd/run.sh "$reports" || status=1

step "leftovers"
left=$(ip netns list | awk '{print $1}' | grep -E '^(hntest|hnbench|hndemo|netns)-' || true)  # netns-<uuid>: podman's pod namespaces
if [[ -n $left ]]; then echo "namespaces left behind: $left"; status=1; else echo "no test namespaces left"; fi
if [[ $(dpkg-query -W -f='${db:Status-Status}' hostnet 2>/dev/null) =~ ^(installed|config-files|unpacked|half-) ]]; then
  echo "the hostnet package is left on this machine (the package test purges it)"; status=1
fi
if ip -o link show | grep -q 'alias hostnet'; then echo "the host namespace holds links with a hostnet alias"; status=1; fi
# Traffic tools only tests start (a socat forked child outlives its namespace unless its group is stopped).
stray=$(pgrep -a -x 'socat|iperf3' || true)
if [[ -n $stray ]]; then echo "test processes left running:"; echo "$stray"; status=1; else echo "no test processes left"; fi
# FRR daemons the tests' agents started (pathspaces named like their namespaces), and their files.
frr=$(pgrep -a -x 'zebra|bgpd' | grep -E -- '-N (hntest|hnbench|hndemo)-' || true)
if [[ -n $frr ]]; then echo "FRR daemons left running:"; echo "$frr"; status=1; else echo "no test FRR daemons left"; fi
frr_dirs=$(ls -d /etc/frr/hntest-* /etc/frr/hnbench-* /var/run/frr/hntest-* /var/run/frr/hnbench-* 2>/dev/null || true)
if [[ -n $frr_dirs ]]; then echo "FRR instance directories left: $frr_dirs"; status=1; fi

step "summary"
node dist/test/summary.js "$reports/unit.json" "$reports/integration.json" "$reports/e2e.json" "$reports/package.json" "$reports/vlan.json" "$reports/debian-kernel.json" "$reports/systemd.json" || status=1
exit $status
