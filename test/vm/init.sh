#!/bin/busybox sh
# shellcheck shell=dash
# PID 1 of the test guest (packed into initrd.gz by prepare.sh, booted by run.sh).
# Loads the modules listed in /modules, mounts the host's root (9p, read-only) under a
# tmpfs overlay, adds fresh /proc /sys /dev /run /tmp and the extra shares run.sh lists,
# chroots into it to run run.sh's command, writes the exit code to the control share and
# powers off (run.sh --systemd: execs systemd there instead, see below). It never returns:
# if PID 1 exited the kernel would panic (run.sh sees that
# as a failed boot).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# ttyS0 streams to run.sh's stdout; the kernel's console is ttyS1 (a log file on the host).
exec </dev/ttyS0 >/dev/ttyS0 2>&1
stty -onlcr # the host terminal adds its own \r
ctl=/ctl

fail() {
  echo "hostnet-vm: $*" >&2
  [ -d $ctl/. ] && echo "$*" >$ctl/error
  sync
  poweroff -f
}

while read -r m; do
  insmod "/lib/modules/$m.ko" || fail "insmod $m failed"
done </modules

p9='trans=virtio,version=9p2000.L,msize=512000'
mkdir -p $ctl /lower /rw /newroot
mount -t 9p -o $p9 hostnet_ctl $ctl || fail "cannot mount the control share"
mount -t 9p -o $p9,ro,cache=loose hostroot /lower || fail "cannot mount the host root share"
mount -t tmpfs -o mode=755 tmpfs /rw
mkdir -p /rw/root/up /rw/root/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/root/up,workdir=/rw/root/work overlay /newroot ||
  fail "cannot mount the overlay on the host root"

r=/newroot
mount -t proc proc $r/proc
mount -t sysfs sysfs $r/sys
mount -t devtmpfs devtmpfs $r/dev # has /dev/net/tun once tun is loaded
mkdir -p $r/dev/pts $r/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts $r/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $r/dev/shm
mount -t tmpfs -o mode=755 tmpfs $r/run # /var/run/netns lives here for `ip netns`
mount -t tmpfs -o mode=1777 tmpfs $r/tmp
mkdir -p $r/run/hostnet-vm
mount -o bind $ctl $r/run/hostnet-vm

# Extra shares, mounted over the fresh dirs above (a project under /tmp, or on its own
# filesystem): lines "TAG ro|rw PATH"; ro ones get their own tmpfs overlay for writes.
n=0
while read -r tag mode path; do
  n=$((n + 1))
  mkdir -p "$r$path"
  if [ "$mode" = rw ]; then
    mount -t 9p -o $p9 "$tag" "$r$path" || fail "cannot mount share $tag at $path"
  else
    mkdir -p /lower$n /rw/$n/up /rw/$n/work
    mount -t 9p -o $p9,ro,cache=loose "$tag" /lower$n || fail "cannot mount share $tag"
    mount -t overlay -o lowerdir=/lower$n,upperdir=/rw/$n/up,workdir=/rw/$n/work overlay "$r$path" ||
      fail "cannot mount the overlay at $path"
  fi
done <$ctl/shares

ip link set lo up
hostname hostnet-vm
# run.sh --systemd: systemd becomes PID 1 in the overlay and runs the command as a service
# (test/vm/systemd/: hostnet-vm.target, named by systemd.unit= on the kernel command line,
# wants hostnet-vm-test.service, which runs cmd.sh, writes rc and powers off). The mounts
# above stay: systemd keeps /proc, /sys, /dev, /run already mounted and adds cgroup2 etc.
if [ -d $ctl/systemd ]; then
  mkdir -p $r/run/systemd/system
  cp $ctl/systemd/*.target $ctl/systemd/*.service $r/run/systemd/system/ || fail "cannot install the fixture's units"
  [ -x $r/lib/systemd/systemd ] || fail "--systemd: no /lib/systemd/systemd on the host"
  # A host that is a container has /.dockerenv: systemd would then believe it runs in one
  # and ignore the kernel command line (systemd.unit=). Removed in the overlay only.
  rm -f $r/.dockerenv
  exec switch_root $r /lib/systemd/systemd
fi
: >$ctl/started
# cmd.sh (written by run.sh) sets the environment, cds and execs the command.
env -i /bin/chroot $r /bin/sh /run/hostnet-vm/cmd.sh </dev/null
echo $? >$ctl/rc
sync
umount $r/run/hostnet-vm $ctl 2>/dev/null
poweroff -f
