#!/usr/bin/env bash
# Runs one command inside a QEMU guest with Debian's own kernel (which has 802.1Q VLANs,
# bridge VLAN filtering, ... unlike the host's), on the host's own files: the guest chroots
# into the host's root, shared read-only over 9p with a tmpfs overlay for writes (writes
# vanish with the guest). See README.md.
#
# Usage: run.sh [--timeout SECONDS] [--cwd DIR] [--share DIR] [--rw DIR] [--env NAME=VALUE]
#               [--tap IFNAME[=MAC]] [--systemd] -- CMD [ARGS...]
#   CMD is exec'd with ARGS as given (no shell); use `-- sh -c '...'` for shell syntax.
#   --timeout  kill the guest after SECONDS (default 600); run.sh then exits 124
#   --cwd      working directory in the guest (default: the current one)
#   --share    also share DIR (read-only + overlay) at the same path; the project (git
#              top level of --cwd) and node's directory are shared when they need it
#   --rw       share DIR writable: the guest's writes there land on the host (reports)
#   --env      set NAME=VALUE in the guest (repeatable); CI is passed through as is
#   --tap      give the guest a virtio NIC on the existing TAP device IFNAME (repeatable;
#              eth0, eth1, ... in the guest, in that order, left down). QEMU opens
#              /dev/net/tun where run.sh runs: for a TAP in a namespace, run
#              `ip netns exec NS run.sh --tap IFNAME ...`. MAC default: 52:54:00:12:34:56 for
#              the first NIC, ...:57 for the second (the same in every guest: pass one).
#              Without --tap the guest has no NIC at all.
#   --systemd  boot the host's systemd as PID 1 in the guest (test/vm/systemd/): CMD runs as
#              the service hostnet-vm-test.service once sysinit and basic targets are up,
#              and may use systemctl, journalctl, systemd-analyze; the guest powers off when
#              it ends
# Exit status: CMD's; 124 on timeout; 125 when the guest fails before CMD finishes.
# Guest: HOSTNET_IN_VM=1, HOME=/root, PATH=$PATH + the standard dirs, stdin /dev/null,
# stdout and stderr both stream to this script's stdout (a serial port; the command sees
# a terminal only if run.sh's stdout is one).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${HOSTNET_VM_CACHE:-/var/cache/hostnet-vm}
timeout=600 cwd=$PWD shares=() rw=() envs=() taps=() systemd=0
die() { echo "run.sh: $*" >&2; exit 125; }
trap 'echo "run.sh: failed at line $LINENO" >&2' ERR
usage() { sed -n '/^# Usage/,/^set -e/{/^set/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 125; }
while (($#)); do
  case $1 in
    --timeout) timeout=${2:?}; shift 2 ;;
    --cwd) cwd=${2:?}; shift 2 ;;
    --share) shares+=("${2:?}"); shift 2 ;;
    --rw) rw+=("${2:?}"); shift 2 ;;
    --env) [[ ${2:-} == [A-Za-z_]*=* ]] || usage; envs+=("$2"); shift 2 ;;
    --tap) taps+=("${2:?}"); shift 2 ;;
    --systemd) systemd=1; shift ;;
    --) shift; break ;;
    *) usage ;;
  esac
done
(($#)) || usage
[[ $timeout =~ ^[0-9]+$ ]] || die "--timeout wants whole seconds, got '$timeout'"
[[ -d $cwd ]] || die "no such directory: $cwd"
cwd=$(cd "$cwd" && pwd -P)
nics=()
for i in "${!taps[@]}"; do
  t=${taps[i]} ifname=${taps[i]%%=*} mac=$(printf '52:54:00:12:34:%02x' $((0x56 + i)))
  [[ $t == *=* ]] && mac=${t#*=}
  [[ $ifname =~ ^[A-Za-z0-9_.-]{1,15}$ ]] || die "--tap: bad interface name '$ifname'"
  [[ $mac =~ ^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$ ]] || die "--tap $ifname: bad MAC '$mac'"
  (( (0x${mac:0:2} & 1) == 0 )) || die "--tap $ifname: $mac is a multicast MAC"
  flags=$(cat "/sys/class/net/$ifname/tun_flags" 2>/dev/null || true) # IFF_TAP = 0x0002
  [[ $flags == 0x* ]] && ((flags & 0x0002)) ||
    die "--tap $ifname: no TAP device of that name here (ip netns exec NS run.sh ... for one in NS)"
  # shellcheck disable=SC2054 # commas belong to QEMU's options
  nics+=(-netdev "tap,id=n$i,ifname=$ifname,script=no,downscript=no"
    -device "virtio-net-pci,netdev=n$i,mac=$mac")
done

"$here/prepare.sh" || die "prepare.sh failed"

# The guest mounts fresh /tmp, /run, /dev over the root share, so a project living there
# would be hidden: share it again at the same path. The root share does show the host's
# other filesystems (QEMU follows mounts), but one (say /work) gets its own share anyway.
needs_share() {
  [[ $1 == /tmp/* || $1 == /run/* || $1 == /dev/* ]] || [[ $(findmnt -n -o TARGET -T "$1") != / ]]
}
project=$(git -C "$cwd" rev-parse --show-toplevel 2>/dev/null || echo "$cwd")
needs_share "$project" && shares+=("$project")
if node=$(command -v node); then
  node_dir=$(dirname "$(dirname "$(readlink -f "$node")")") # e.g. /usr or /opt/node-v20
  [[ $node_dir == / ]] || ! needs_share "$node_dir" || shares+=("$node_dir")
fi

tmp=$(mktemp -d /tmp/hostnet-vm.XXXXXX)
ctl=$tmp/ctl && mkdir "$ctl"
qpid='' wpid=''
# shellcheck disable=SC2317 # (called by the trap)
cleanup() {
  local rc=$?
  set +e
  [[ -n $wpid ]] && kill "$wpid" 2>/dev/null
  [[ -n $qpid ]] && kill -KILL "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
  [[ -n ${HOSTNET_VM_CONSOLE:-} && -f $tmp/console.log ]] && cp "$tmp/console.log" "$HOSTNET_VM_CONSOLE"
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; } # quote for /bin/sh
virtfs=(-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
  -virtfs "local,path=${ctl//,/,,},mount_tag=hostnet_ctl,security_model=none")
: >"$ctl/shares"
n=0
add_share() { # PATH ro|rw
  local p ro
  p=$(cd "$1" && pwd -P) || die "cannot share $1: no such directory"
  [[ $p != / ]] || die "cannot share / again"
  n=$((n + 1)) ro=
  [[ $2 == ro ]] && ro=,readonly=on
  virtfs+=(-virtfs "local,path=${p//,/,,},mount_tag=share$n,security_model=none,multidevs=remap$ro")
  echo "share$n $2 $p" >>"$ctl/shares"
}
# Parents before children, so a nested share is mounted on top of its parent.
if ((${#shares[@]})); then
  mapfile -t shares < <(printf '%s\n' "${shares[@]}" | sort -u)
  for s in "${shares[@]}"; do add_share "$s" ro; done
fi
for s in "${rw[@]}"; do add_share "$s" rw; done

tty=0 size='' # is our stdout a terminal, and its "rows cols"
[[ -t 1 ]] && tty=1 && { size=$(stty size <&3 2>/dev/null || true); } 3>&1
{
  echo "export PATH=$(q "$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")"
  echo "export HOME=/root HOSTNET_IN_VM=1 LANG=C.UTF-8 TERM=$(q "${TERM:-dumb}")"
  [[ -n ${CI+x} ]] && echo "export CI=$(q "$CI")"
  for e in "${envs[@]}"; do echo "export ${e%%=*}=$(q "${e#*=}")"; done
  echo "cd $(q "$cwd") || exit 125"
  cmd=$(for a; do printf ' %s' "$(q "$a")"; done)
  if ((tty)); then
    [[ -n $size ]] && echo "stty rows ${size% *} cols ${size#* } <&1"
    echo "exec$cmd"
  else # not a terminal here, so none in the guest either: plain logs (CI), no spinners
    echo "{$cmd; echo \$? >/run/hostnet-vm/cmd-rc; } 2>&1 | cat"
    # shellcheck disable=SC2016 # expanded in the guest
    echo 'exit "$(cat /run/hostnet-vm/cmd-rc)"'
  fi
} >"$ctl/cmd.sh"
# --systemd: init.sh finds the units here and execs systemd (booting hostnet-vm.target).
boot=''
if ((systemd)); then
  cp -r "$here/systemd" "$ctl/systemd"
  # No first-boot questions on the console (the host's machine-id may be empty).
  boot=' systemd.unit=hostnet-vm.target systemd.firstboot=off'
fi

# Serial ttyS0 carries CMD's output to our stdout; the kernel console is ttyS1, kept in a
# file that is shown when the guest fails (all kernel messages if HOSTNET_VM_DEBUG is set).
klog=quiet && [[ -n ${HOSTNET_VM_DEBUG:-} ]] && klog=loglevel=7
# No KVM here: TCG, multi-threaded. q35 (microvm hangs). -nodefaults: no NIC (but --tap's),
# VGA, etc.
# shellcheck disable=SC2054 # commas belong to QEMU's options
qemu=(qemu-system-x86_64 -machine q35 -accel tcg,thread=multi -smp "${HOSTNET_VM_CPUS:-2}"
  -m "${HOSTNET_VM_MEM:-2048}" -nodefaults -no-user-config -display none -no-reboot
  -chardev stdio,id=out -serial chardev:out -chardev file,id=log,path="$tmp/console.log" -serial chardev:log
  -kernel "$cache/kernel" -initrd "$cache/initrd.gz"
  -append "console=ttyS1 panic=-1 8250.nr_uarts=2 $klog$boot"
  "${virtfs[@]}" "${nics[@]}")
start=$SECONDS
"${qemu[@]}" </dev/null &
qpid=$!
# Watchdog: kills this QEMU (by pid) after the timeout.
(
  trap 'kill "$s" 2>/dev/null; exit 0' TERM
  sleep "$timeout" & s=$!
  wait "$s"
  : >"$tmp/timedout"
  kill -TERM "$qpid" 2>/dev/null; sleep 3; kill -KILL "$qpid" 2>/dev/null
) &
wpid=$!
qrc=0
wait "$qpid" || qrc=$?
qpid=

if [[ -f $ctl/rc && ! -e $tmp/timedout ]]; then
  rc=$(<"$ctl/rc")
  [[ -n ${HOSTNET_VM_QUIET:-} ]] || echo "run.sh: guest exit code $rc after $((SECONDS - start))s" >&2
  exit "$rc"
fi
if [[ ! -e $ctl/started && -s $tmp/console.log ]]; then
  echo "run.sh: the guest's console (kernel log) said:" >&2
  tail -n 30 "$tmp/console.log" >&2
fi
if [[ -e $tmp/timedout ]]; then
  echo "run.sh: timed out after ${timeout}s$([[ -e $ctl/started ]] || echo ' (before the command started)'); QEMU killed" >&2
  exit 124
elif [[ -f $ctl/error ]]; then
  die "guest setup failed: $(<"$ctl/error")"
elif [[ -e $ctl/started ]]; then
  die "guest died while running the command (QEMU exit status $qrc)"
else
  die "guest failed to boot (QEMU exit status $qrc); HOSTNET_VM_DEBUG=1 logs more"
fi
