#!/usr/bin/env bash
# Smoke check of the VM fixture: boots the guest (via run.sh) and, inside it, builds what
# the host kernel cannot: a VLAN-filtering bridge, 802.1Q sub-interfaces on veths, plus a
# vxlan, a tap, a dummy and a macvlan; checks them in `ip -j -d link show`, sends UDP across VLAN 100 and runs
# node. Exits 0 only if all of that worked. Usage: test/vm/smoke.sh
set -euo pipefail

if [[ -z ${HOSTNET_IN_VM:-} ]]; then # on the host: rerun this script inside the guest
  self=$(readlink -f "${BASH_SOURCE[0]}")
  exec "${self%/*}/run.sh" --timeout 300 --cwd "${self%/*}" -- bash "$self"
fi

echo "guest kernel: $(uname -r)"
p=hnsmoke$$ # namespaces: $p-sw (the switch), $p-a and $p-b (two hosts on VLAN 100)
sw=$p-sw a=$p-a b=$p-b srv=
cleanup() {
  [[ -n $srv ]] && kill "$srv" 2>/dev/null
  for n in "$sw" "$a" "$b"; do ip netns del "$n" 2>/dev/null; done
  return 0
}
trap cleanup EXIT
for n in "$sw" "$a" "$b"; do ip netns add "$n"; done

ip -n "$sw" link add br0 type bridge vlan_filtering 1
ip -n "$sw" link set br0 up
i=0
for h in "$a" "$b"; do
  i=$((i + 1))
  ip -n "$sw" link add "port$i" type veth peer name eth0 netns "$h"
  ip -n "$sw" link set "port$i" master br0 up
  bridge -n "$sw" vlan add dev "port$i" vid 100 # tagged member of VLAN 100
  ip -n "$h" link add link eth0 name eth0.100 type vlan id 100
  ip -n "$h" addr add "10.100.0.$i/24" dev eth0.100
  ip -n "$h" link set lo up
  ip -n "$h" link set eth0 up
  ip -n "$h" link set eth0.100 up
done
ip -n "$sw" link add vx0 type vxlan id 42 dstport 4789
ip -n "$sw" link set vx0 master br0 up
ip -n "$sw" tuntap add dev tap0 mode tap
ip -n "$sw" link set tap0 master br0
ip -n "$sw" link add d0 type dummy                        # the host kernel lacks these two
ip -n "$a" link add mv0 link eth0 type macvlan mode bridge

# A UDP echo server on host b; host a's check below talks to it over VLAN 100.
ip netns exec "$b" node -e '
  const s = require("dgram").createSocket("udp4");
  s.on("message", (m, r) => s.send("pong", r.port, r.address));
  s.bind(7777, "10.100.0.2");' &
srv=$!

ip netns exec "$a" node - "$sw" "$a" <<'EOF'
const { execFileSync } = require('child_process');
const [sw, a] = process.argv.slice(2);
console.log('node', process.version, 'os.release()', require('os').release());
const links = (ns) => JSON.parse(execFileSync('ip', ['-n', ns, '-j', '-d', 'link', 'show']));
const found = {};
for (const ns of [sw, a]) {
  for (const l of links(ns)) {
    const kind = l.linkinfo?.info_kind ?? '-', d = l.linkinfo?.info_data ?? {};
    const info = { vlan_filtering: d.vlan_filtering, id: d.id, protocol: d.protocol, port: d.port, type: d.type };
    console.log(`  ${ns.padEnd(14)} ${l.ifname.padEnd(9)} ${kind.padEnd(7)} ${l.operstate.padEnd(8)}`,
      JSON.stringify(Object.fromEntries(Object.entries(info).filter(([, v]) => v !== undefined))));
    found[`${ns === sw ? 'sw' : 'a'}/${l.ifname}`] = { kind, d };
  }
}
const want = [
  ['sw/br0', (l) => l.kind === 'bridge' && l.d.vlan_filtering === 1],
  ['sw/vx0', (l) => l.kind === 'vxlan' && l.d.id === 42],
  ['sw/tap0', (l) => l.kind === 'tun' && l.d.type === 'tap'],
  ['sw/port1', (l) => l.kind === 'veth'],
  ['a/eth0.100', (l) => l.kind === 'vlan' && l.d.id === 100 && l.d.protocol === '802.1Q'],
  ['sw/d0', (l) => l.kind === 'dummy'],
  ['a/mv0', (l) => l.kind === 'macvlan'],
];
const bad = want.filter(([n, ok]) => !found[n] || !ok(found[n])).map(([n]) => n);
if (bad.length) { console.error('FAIL: missing or wrong:', bad.join(' ')); process.exit(1); }

// UDP across VLAN 100 through the VLAN-filtering bridge; resend until the server is up.
const sock = require('dgram').createSocket('udp4');
const t0 = Date.now();
const send = () => sock.send('ping', 7777, '10.100.0.2');
const timer = setInterval(send, 250);
sock.on('message', (m) => {
  console.log(`UDP over VLAN 100: ${m} after ${Date.now() - t0} ms`);
  clearInterval(timer); sock.close();
});
send();
setTimeout(() => { console.error('FAIL: no UDP reply over VLAN 100'); process.exit(1); }, 30000).unref();
EOF
echo "smoke: OK"
