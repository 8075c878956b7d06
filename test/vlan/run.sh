#!/usr/bin/env bash
# Runs the VLAN suite where 802.1Q exists: natively when this kernel has it, otherwise inside
# the QEMU VM fixture with Debian's own kernel (test/vm/run.sh). Never skips.
# Usage: test/vlan/run.sh [REPORT_DIR]   (REPORT_DIR receives vlan.json, vitest's JSON report)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
reports=${1:-}

probe=hntest-vlanprobe-$$
trap 'ip netns del "$probe" 2>/dev/null || true' EXIT
ip netns add "$probe"
ip -n "$probe" link add p0 type veth peer name p1
native=0
ip -n "$probe" link add link p0 name p0.5 type vlan id 5 2>/dev/null && native=1
ip netns del "$probe"

vitest=(node_modules/.bin/vitest run --project vlan --reporter=default) # not npx: npm walks node_modules over 9p for 20-40 s
[[ -n $reports ]] && vitest+=(--reporter=json "--outputFile.json=$reports/vlan.json")

if ((native)); then
  echo "test/vlan/run.sh: this kernel ($(uname -r)) has 802.1Q: running the VLAN suite natively"
  exec "${vitest[@]}"
fi
echo "test/vlan/run.sh: this kernel ($(uname -r)) has no 802.1Q: running the VLAN suite in the VM fixture"
# The guest's console is a tty: CI=true keeps vitest's output a plain log, not a live screen.
opts=(--timeout 1200 --env CI=true)
[[ -n $reports ]] && opts+=(--rw "$reports")
exec bash test/vm/run.sh "${opts[@]}" -- sh -c 'echo "guest kernel: $(uname -r)"; exec "$@"' sh "${vitest[@]}"
