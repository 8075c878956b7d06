// Captures the rtnetlink request iproute2 sends for each case below (via `strace -e write=`),
// so the codec's unit tests can compare our encodings byte for byte with the reference tool.
// Run as root: node test/unit/golden/capture.mjs  (rewrites cases.json beside this file).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const ns = `hngold-${process.pid}`;
const peerNs = `${ns}-p`;
const sh = (cmd) => execFileSync('sh', ['-c', cmd], { encoding: 'utf8' });

// [name, ip arguments, netlink message type to keep]
const cases = [
  ['bridge-add', 'link add br0 type bridge', 16],
  ['bridge-add-opts', 'link add br1 mtu 9000 address 02:00:00:00:00:01 group 7 type bridge forward_delay 0 stp_state 0', 16],
  ['bridge-add-vlanfilter', 'link add br2 type bridge vlan_filtering 1', 16],
  ['vlan-add', 'link add link veth0 name veth0.100 type vlan id 100', 16],
  ['vlan-add-qinq', 'link add link veth0 name veth0.200 type vlan protocol 802.1ad id 200', 16],
  ['vxlan-add', 'link add vx0 type vxlan id 42 local 10.0.0.1 remote 10.0.0.2 dstport 4789 nolearning', 16],
  ['vxlan-add-group', 'link add vx1 type vxlan id 43 group 239.1.1.1 dev veth0 dstport 4789 nolearning ttl 16', 16],
  ['veth-add-peer-netns', `link add hv0 mtu 1400 type veth peer name net1 netns ${peerNs}`, 16],
  ['link-set-master', 'link set dev veth0 master br0', 16],
  ['link-set-nomaster', 'link set dev veth0 nomaster', 16],
  ['link-set-up', 'link set dev veth0 up', 16],
  ['link-set-down', 'link set dev veth0 down', 16],
  ['link-set-mtu', 'link set dev veth0 mtu 1450', 16],
  ['link-set-alias', 'link set dev veth0 alias hostnet:attachment:a1', 16],
  ['link-set-group', 'link set dev br9 group 77', 16],
  ['link-set-address', 'link set dev veth0 address 02:00:00:00:00:09', 16],
  ['link-del', 'link del dev br8', 17],
  ['link-del-group', 'link del group 77', 17],
  ['addr-add-v4', 'addr add 192.0.2.1/24 dev veth0', 20],
  ['addr-add-v6-nodad', 'addr add 2001:db8::1/64 dev veth0 nodad', 20],
  ['addr-del-v4', 'addr del 192.0.2.1/24 dev veth0', 21],
  ['route-replace-via', 'route replace 10.1.0.0/16 via 192.0.2.254 dev veth0 proto static metric 100 table 100', 24],
  ['route-add-dev', 'route add 10.2.0.0/16 dev veth0 proto static', 24],
  ['route-del', 'route del 10.2.0.0/16 dev veth0 proto static', 25],
  ['neigh-replace', 'neigh replace 192.0.2.9 lladdr 02:00:00:00:00:0a dev veth0 nud permanent', 28],
  ['neigh-del', 'neigh del 192.0.2.9 dev veth0', 29],
];

function lastMessageOfType(straceOutput, type) {
  // strace prints " | 00000  38 00 00 00 ...  ascii |" lines after each sendmsg.
  const buffers = [];
  let current = null;
  for (const line of straceOutput.split('\n')) {
    if (line.startsWith('sendmsg(')) { current = []; buffers.push(current); continue; }
    // Hex columns sit at a fixed place: " | 00000  38 00 ... 00  ascii |".
    if (current && /^ \| [0-9a-f]{5}  /.test(line)) current.push(...line.slice(10, 60).trim().split(/\s+/));
  }
  const wanted = buffers.map((b) => b.join('')).filter((hex) => parseInt(hex.slice(8, 10), 16) === type);
  if (wanted.length === 0) throw new Error(`no message of type ${type} captured`);
  return wanted[wanted.length - 1];
}

const out = {};
try {
  sh(`ip netns add ${ns} && ip netns add ${peerNs}`);
  sh(`ip -n ${ns} link add veth0 type veth peer name veth1 && ip -n ${ns} link add br0 type bridge && ip -n ${ns} link add br9 type bridge && ip -n ${ns} link add br8 type bridge && ip -n ${ns} link set veth0 up`);
  for (const [name, args, type] of cases) {
    // The command itself may fail (no 8021q on this host): what it sent is what we keep.
    const trace = sh(`strace -f -e trace=sendmsg -e write=3,4,5,6 ip -n ${ns} ${args} 2>&1 || true`);
    out[name] = { command: `ip ${args}`, hex: lastMessageOfType(trace, type) };
  }
} finally {
  sh(`ip netns del ${ns}; ip netns del ${peerNs}; true`);
}
writeFileSync(join(here, 'cases.json'), JSON.stringify(out, null, 2) + '\n');
console.log(`captured ${Object.keys(out).length} cases`);
