#!/usr/bin/env bash
# Runs the Debian-kernel suite (port security on Debian's own kernel, where nf_tables,
# conntrack, br_netfilter and nf_conntrack_bridge are modules) ALWAYS inside the QEMU VM
# fixture (test/vm/run.sh), whatever this host's kernel: that kernel is the point. The agent
# is compiled here first (tsc on the host; the guest only runs dist/).
# Usage: test/debian-kernel/run.sh [REPORT_DIR]   (REPORT_DIR receives debian-kernel.json)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
reports=${1:-}

# tsc emits even when files others are editing do not type-check; dist/ must exist, though.
npx tsc -p tsconfig.json >/dev/null || echo "test/debian-kernel/run.sh: tsc reported errors (dist/ emitted anyway)" >&2
[[ -f dist/agent/main.js ]] || { echo "test/debian-kernel/run.sh: no dist/agent/main.js after tsc" >&2; exit 1; }

vitest=(node_modules/.bin/vitest run --project debian-kernel --reporter=default) # not npx: npm walks node_modules over 9p for 20-40 s
[[ -n $reports ]] && vitest+=(--reporter=json "--outputFile.json=$reports/debian-kernel.json")

echo "test/debian-kernel/run.sh: running the suite in the VM fixture (host kernel $(uname -r))"
# The guest's console is a tty: CI=true keeps vitest's output a plain log, not a live screen.
opts=(--timeout 900 --env CI=true)
[[ -n $reports ]] && opts+=(--rw "$reports")
exec bash test/vm/run.sh "${opts[@]}" -- sh -c 'echo "guest kernel: $(uname -r)"; exec "$@"' sh "${vitest[@]}"
