#!/usr/bin/env bash
# Installs the Debian packages hostnet needs. This is the one package list: the Vagrantfile
# provisions a whole test machine with it, and test/vm/prepare.sh calls it with --vm-host
# for the machine that boots the QEMU test guest (the guest chroots into that machine's
# root, so the project's packages must be on it too).
#
# Usage: provision.sh [--vm-host] [--no-node]
#   --vm-host  also install what test/vm/run.sh needs to boot the guest
#   --no-node  leave Node.js alone (the QEMU fixture uses whatever node the host has)
# Idempotent: does nothing (and touches no network) when everything is already there.
set -euo pipefail

# iproute2: the fallback backend and test witness; iputils-ping: the demo and traffic tests;
# gcc, libc6-dev, linux-libc-dev: the unit test that checks our constants against the kernel headers;
# busybox (udhcpc), isc-dhcp-client, dhcpcd-base: real DHCP clients; dnsmasq-base, kea-dhcp4-server:
# reference servers; kea-admin: perfdhcp; systemd: systemd-analyze verify for the unit file;
# prometheus: promtool and the server that scrapes the agent's metrics in an e2e test;
# nftables, conntrack: port security (the agent runs nft, and conntrack to end flows no rule allows any more); python3-scapy: spoofed frames in the port
# security tests; socat, iperf3: traffic through the filter in tests and bench/security;
# containernetworking-plugins: Debian's CNI plugins (/usr/lib/cni), chained after hostnet-cni in
# its e2e tests and the reference (bridge + host-local) of bench/cni.
project_pkgs=(iproute2 iputils-ping gcc libc6-dev linux-libc-dev busybox isc-dhcp-client dhcpcd-base
  dnsmasq-base kea-dhcp4-server kea-admin systemd prometheus nftables conntrack python3-scapy socat iperf3
  containernetworking-plugins)
# podman, crun: a real CNI runtime drives hostnet-cni in test/e2e/cni-podman.test.ts (podman's
# CNI backend, containers from a local busybox root filesystem, nothing pulled).
project_pkgs+=(podman crun)
# ndisc6: rdisc6 shows the router advertisements the agent sends (dhcp/ra, IPv6 networks);
# kea-dhcp6-server: the reference DHCPv6 server of bench/dhcp --v6.
project_pkgs+=(ndisc6 kea-dhcp6-server)
# frr, frr-pythontools: BGP EVPN (the agent runs zebra and bgpd per node and reloads their
# configuration with frr-reload.py); the multi-host lab runs one FRR per host namespace.
project_pkgs+=(frr frr-pythontools)
# dpkg-dev (dpkg-shlibdeps), lintian: npm run package builds the Debian package and its test
# (test/package) checks it with lintian before installing it.
project_pkgs+=(dpkg-dev lintian)
vm_host_pkgs=(qemu-system-x86 kmod) # QEMU for the guest; kmod's modinfo resolves module deps

vm_host=0 node=1
for arg; do
  case $arg in
    --vm-host) vm_host=1 ;;
    --no-node) node=0 ;;
    *) echo "usage: $0 [--vm-host] [--no-node]" >&2; exit 2 ;;
  esac
done

die() { echo "provision.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "must run as root (it installs Debian packages)"

# Installs the named packages that are missing; apt-get update first, since a fresh
# machine (CI) has no package lists.
apt_install() {
  local p missing=()
  for p; do
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "provision.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed"
}

pkgs=("${project_pkgs[@]}")
((vm_host)) && pkgs+=("${vm_host_pkgs[@]}")
apt_install "${pkgs[@]}"

# Node.js 20. Debian 12's own nodejs package is 18.x, too old for the project's tools
# (vitest 4, execa 9), so install the official nodejs.org build (no third-party apt
# repository), checked against its published SHA-256 sums.
node_ok() { command -v node >/dev/null && node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; }
if ((node)) && ! node_ok; then
  apt_install curl ca-certificates xz-utils
  case $(dpkg --print-architecture) in
    amd64) arch=x64 ;; arm64) arch=arm64 ;; *) die "no Node.js build for $(dpkg --print-architecture)" ;;
  esac
  base=https://nodejs.org/dist/latest-v20.x
  sums=$(curl -fsSL "$base/SHASUMS256.txt") || die "cannot fetch $base/SHASUMS256.txt"
  file=$(grep -oE "node-v20\.[0-9.]+-linux-$arch\.tar\.xz$" <<<"$sums" | head -n1)
  [[ -n $file ]] || die "no linux-$arch tarball listed in $base/SHASUMS256.txt"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  curl -fsSLo "$tmp/$file" "$base/$file" || die "cannot download $base/$file"
  (cd "$tmp" && grep " $file\$" <<<"$sums" | sha256sum -c --quiet -) || die "checksum mismatch for $file"
  tar -xJf "$tmp/$file" -C /usr/local --strip-components=1 --no-same-owner \
    --wildcards '*/bin' '*/include' '*/lib' '*/share'
  node_ok || die "node 20 not usable after installing $file"
  echo "provision.sh: installed $(node --version) into /usr/local" >&2
fi
