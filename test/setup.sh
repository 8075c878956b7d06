#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for hostnet, as root: the Debian packages (one list, in
# test/vm/provision.sh), the npm packages from the lock file, and the TypeScript build.
# The VM fixture's kernel is fetched on first use by test/vm/prepare.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ $(id -u) == 0 ]] || { echo "test/setup.sh: run as root (installs Debian packages)" >&2; exit 1; }
bash test/vm/provision.sh --no-node
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
