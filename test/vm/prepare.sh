#!/usr/bin/env bash
# Prepares what test/vm/run.sh boots: QEMU (via provision.sh), Debian's current kernel and
# its modules (downloaded and unpacked into the cache, never installed on the host), the
# static busybox, and in the cache: kernel (the uncompressed vmlinux when it can boot as
# PVH, else the vmlinuz) and initrd.gz (busybox + the modules + init.sh as /init).
#
# Usage: prepare.sh [--refresh]
#   --refresh  ask apt for Debian's current kernel even if one is cached (a bumped kernel is
#              then fetched); otherwise a cached kernel is kept, so a ready cache costs ~0 s.
# Cache: ${HOSTNET_VM_CACHE:-/var/cache/hostnet-vm}. Extra modules: HOSTNET_VM_MODULES="a b".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${HOSTNET_VM_CACHE:-/var/cache/hostnet-vm}
# Roots only: their dependencies are found with modinfo. virtio_pci + 9pnet_virtio + 9p
# carry the shares, overlay the writable root; virtio_net drives run.sh --tap's NICs
# (eth0, ...); then what the network tests use; then port security's firewall (nf_tables with
# bridge meta, named-counter refs and ct; br_netfilter; nf_conntrack_bridge as hypervisors
# may have it). crc32c_generic first: libcrc32c (needed by nf_tables) only names it as a
# softdep, which modinfo's depends misses, and its insmod fails without it.
# The module list is part of the cache key.
# shellcheck disable=SC2206 # HOSTNET_VM_MODULES is a space-separated list
modules=(virtio_pci 9pnet_virtio 9p overlay virtio_net 8021q bridge veth tun vxlan macvlan dummy
  crc32c_generic nf_tables nft_meta_bridge nft_objref nft_ct br_netfilter nf_conntrack_bridge
  ${HOSTNET_VM_MODULES:-})
refresh=0
case ${1:-} in --refresh) refresh=1 ;; '') ;; *) echo "usage: $0 [--refresh]" >&2; exit 2 ;; esac

die() { echo "prepare.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "must run as root (installs packages, builds device nodes)"

"$here/provision.sh" --vm-host --no-node || die "provision.sh --vm-host failed"

mkdir -p "$cache" || die "cannot create cache dir $cache"
exec 9>"$cache/.lock" && flock 9 # parallel runs wait instead of building twice

# The initrd depends on these inputs; the kernel's name is added when it is chosen.
inputs=$(cat "$here/prepare.sh" "$here/init.sh" | sha256sum | cut -c1-16)" ${modules[*]}"
ready=$cache/ready # "KERNELPKG INPUTS" of the built initrd.gz
if ((!refresh)) && [[ -f $ready && -f $cache/kernel && -f $cache/initrd.gz ]] &&
  [[ $(cut -d' ' -f2- "$ready") == "$inputs" ]]; then
  exit 0
fi

# Debian's current kernel package, e.g. linux-image-6.1.0-50-amd64.
current_kernel() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1
}
kpkg=$(current_kernel)
if [[ -z $kpkg ]]; then
  apt-get update -qq || die "apt-get update failed"
  kpkg=$(current_kernel)
fi
[[ -n $kpkg ]] || die "apt-cache depends linux-image-amd64 names no linux-image-*-amd64 package"

# Downloads Debian package $1 and unpacks its files into $2 (not installed).
fetch_unpack() {
  local pkg=$1 dest=$2 dl
  [[ -f $dest/.unpacked ]] && return 0
  echo "prepare.sh: fetching $pkg" >&2
  dl=$(mktemp -d "$cache/dl.XXXXXX")
  chown _apt "$dl" 2>/dev/null || true # apt's download sandbox user must write there
  if ! (cd "$dl" && apt-get download -qq "$pkg" 2>/dev/null); then
    apt-get update -qq || die "apt-get update failed"
    (cd "$dl" && apt-get download -qq "$pkg") || die "apt-get download $pkg failed"
  fi
  rm -rf "$dest" && mkdir -p "$dest"
  dpkg-deb --fsys-tarfile "$dl"/*.deb | tar -x -C "$dest" || die "cannot unpack $pkg"
  rm -rf "$dl"
  touch "$dest/.unpacked"
}
fetch_unpack "$kpkg" "$cache/$kpkg"
fetch_unpack busybox-static "$cache/busybox-static"
busybox=$cache/busybox-static/bin/busybox
[[ -x $busybox ]] || die "busybox-static has no bin/busybox"
vmlinuz=$(ls "$cache/$kpkg"/boot/vmlinuz-*) || die "$kpkg has no /boot/vmlinuz-*"
moddir=$(ls -d "$cache/$kpkg"/lib/modules/*/kernel) || die "$kpkg has no /lib/modules"

# Module name -> file; module names use "_" where file names may use "-".
declare -A file=()
while IFS= read -r f; do
  n=${f##*/} && n=${n%%.ko*} && file[${n//-/_}]=$f
done < <(find "$moddir" -name '*.ko*')

# Depth-first over modinfo's "depends", so each module follows its dependencies.
declare -A seen=()
order=()
visit() {
  local m=$1 deps d
  [[ -n ${seen[$m]:-} ]] && return 0
  seen[$m]=1
  [[ -n ${file[$m]:-} ]] || die "module $m not found in $kpkg"
  deps=$(modinfo -F depends "${file[$m]}") || die "modinfo failed on ${file[$m]}"
  for d in ${deps//,/ }; do visit "${d//-/_}"; done
  order+=("$m")
}
for m in "${modules[@]}"; do visit "$m"; done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,lib/modules}
cp "$busybox" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
install -m 755 "$here/init.sh" "$stage/init"
# The kernel opens it as /init's first stdio (init.sh reopens ttyS0 anyway: optional).
mknod "$stage/dev/console" c 5 1 2>/dev/null || true
for m in "${order[@]}"; do
  f=${file[$m]} out=$stage/lib/modules/$m.ko
  case $f in
    *.ko) cp "$f" "$out" ;;
    *.ko.xz) xz -dc "$f" >"$out" ;;
    *.ko.zst) zstd -qdc "$f" >"$out" ;;
    *.ko.gz) gzip -dc "$f" >"$out" ;;
    *) die "unknown module format: $f" ;;
  esac
  echo "$m" >>"$stage/modules"
done
(cd "$stage" && find . | sort | "$busybox" cpio -o -H newc 2>/dev/null) | gzip -9 >"$cache/initrd.gz.new" ||
  die "cannot build initrd.gz"
# Under TCG, decompressing the bzImage costs seconds at every boot. When the kernel has
# PVH, QEMU boots the uncompressed ELF inside it directly: unpack it once here.
extract_vmlinux() { # like linux/scripts/extract-vmlinux
  local m tool off
  for m in $'\xfd7zXZ:xz' $'(\xb5/\xfd:zstd' $'\x1f\x8b\x08:gzip'; do
    tool=${m#*:}
    for off in $(LC_ALL=C grep -abo "${m%:*}" "$vmlinuz" | cut -d: -f1); do
      tail -c +$((off + 1)) "$vmlinuz" | $tool -dc 2>/dev/null >"$1" || true
      [[ $(head -c4 "$1" | tr -d '\0') == $'\x7fELF' ]] && return 0
    done
  done
  return 1
}
if grep -qx CONFIG_PVH=y "$cache/$kpkg"/boot/config-* && extract_vmlinux "$cache/kernel.new"; then
  :
else
  echo "prepare.sh: no PVH entry in $kpkg; booting the compressed kernel (slower)" >&2
  cp "$vmlinuz" "$cache/kernel.new"
fi
mv "$cache/initrd.gz.new" "$cache/initrd.gz"
mv "$cache/kernel.new" "$cache/kernel"
echo "$kpkg $inputs" >"$ready"
# Drop kernels other than the one in use (each unpacked one is ~400 MB).
for d in "$cache"/linux-image-*; do [[ $d == "$cache/$kpkg" ]] || rm -rf "$d"; done
echo "prepare.sh: built $cache/initrd.gz for $kpkg (modules: ${order[*]})" >&2
