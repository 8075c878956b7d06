// A real VM on a TAP attachment of a DUAL-STACK network gets IPv4 and IPv6 from the hostnet
// AGENT (issue 10): the real agent (dist/agent/main.js) runs in a fresh hntest-h6v-* namespace;
// the desired state has one IPv4 network with DHCP and an `ipv6:` block (gateway on the bridge,
// DHCPV6_STATEFUL with a pool and dhcp.enabled) and one TAP attachment with a static address of
// each family, `ip: { static: <v4>, addresses: [{ static: <v6> }] }`. The VM fixture
// (test/vm/run.sh inside the host namespace, so QEMU opens the agent's TAP) boots Debian's
// kernel; in the guest busybox udhcpc takes the IPv4 lease and ISC dhclient -6 (the host's, the
// guest runs on the host's root) takes the IPv6 one. The agent reserves the attachment's first
// IPv6 address for its MAC, which the server reads from dhclient's DUID-LLT, so the guest must
// get exactly that static address. Checked: the clients' own output in the guest (their event
// hooks print what they were given), `ip -6 addr` in the guest and a ping -6 of the bridge's
// IPv6 gateway, and as independent witnesses the agent's ListLeases, ListIpUsage and
// `hostnetctl get leases|ips`. One boot (5 to 10 s under TCG): one test.
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConditionStatus, IpHolderKind, LeaseState } from '../../agent/api/gen/hostnet/v1/status.js';
import { hostnetctl, rpc } from '../lib/agent-process.js';
import { AgentSession } from '../lib/agent-session.js';
import { eventually, state, tap, type StateJson } from '../lib/agent-state.js';
import { useNetns } from '../lib/netns.js';
import { cannotRunVm, runVm, secs, useVmAgent } from '../lib/vm-agent.js';

const VM_MAC = '52:54:00:12:34:56';
const VM_IP = '10.64.0.42';
const VM_IP6 = 'fd00:64::42';
const GW6 = 'fd00:64::1';
const TAP = 'tapvm6';
const ATTACHMENT = 'vm6-nic0';
const NETWORK = 'vm6net';

const desired: StateJson = {
  generation: 1,
  networks: [{
    name: NETWORK, ipFamily: 'IPV4', cidr: '10.64.0.0/24', gateway: '10.64.0.1', gatewayOnBridge: true,
    dhcp: {
      enabled: true, serverAddress: '10.64.0.2',
      pools: [{ start: '10.64.0.100', end: '10.64.0.199' }],
      dnsServers: ['10.64.0.53'],
      leaseSeconds: 600,
    },
    ipv6: {
      cidr: 'fd00:64::/64', gateway: GW6, gatewayOnBridge: true, ipv6Mode: 'DHCPV6_STATEFUL',
      dhcp: {
        enabled: true,
        pools: [{ start: 'fd00:64::100', end: 'fd00:64::1ff' }],
        dnsServers: ['fd00:64::53'],
        searchDomains: ['v6.example'],
        leaseSeconds: 900,
      },
    },
  }],
  attachments: [{
    ...tap(ATTACHMENT, NETWORK, TAP, { mac: VM_MAC }), tap: { ifName: TAP },
    ip: { static: VM_IP, addresses: [{ static: VM_IP6 }] },
  }],
};

// udhcpc's event hook in the guest: one "udhcpc-EVENT NAME=VALUE" line per variable; installs
// a bound address.
const HOOK4 = `#!/bin/sh
for v in ip mask router serverid lease; do
  eval "val=\\\${$v:-}"
  echo "udhcpc-$1 $v=$val"
done
case $1 in
  bound|renew) ip addr add "$ip/\${mask:-24}" dev "$interface" ;;
esac
exit 0
`;

// dhclient -6's event script in the guest: one "dhclient6-REASON NAME=VALUE" line per variable
// (what the client understood from the agent's Reply), and, like Debian's dhclient-script, puts
// the bound address on the interface.
const HOOK6 = `#!/bin/sh
for v in new_ip6_address new_ip6_prefixlen new_preferred_life new_max_life new_dhcp6_name_servers new_dhcp6_domain_search; do
  eval "val=\\\${$v:-}"
  echo "dhclient6-$reason $v=$val"
done
case "$reason" in
  BOUND6|RENEW6|REBIND6|REBOOT6)
    [ -n "$new_ip6_address" ] && ip -6 addr replace "$new_ip6_address/$new_ip6_prefixlen" dev "$interface" valid_lft "$new_max_life" preferred_lft "$new_preferred_life" ;;
esac
exit 0
`;

const ns = useNetns(1, 'all', 'h6v');
const host = (): string => ns[0]!;

const session = new AgentSession();

const networkCondition = (type: string) => session.condition('networks', NETWORK, type);

/** Lines "PREFIX NAME=VALUE" of the guest's output as a map. */
function printed(out: string, prefix: string): Record<string, string> {
  const m = new Map<string, string>();
  for (const x of out.matchAll(new RegExp(`^${prefix} (\\w+)=(.*?)\\r?$`, 'gm'))) m.set(x[1] ?? '', x[2] ?? '');
  return Object.fromEntries(m);
}

describe.skipIf(cannotRunVm)('the agent gives a VM on a TAP attachment IPv4 and IPv6', () => {
  const vmAgent = useVmAgent(session, host, 'hntest-h6v-');

  it('the guest gets its static IPv4 by udhcpc and its static IPv6 by dhclient -6 (DHCPv6 reservation by MAC) and pings both gateways', async () => {
    const client = session.client;
    const dir = session.dir;
    const res = await rpc(client, client.apply, { state: state(desired), dryRun: false });
    expect(res.generation).toBe(1);
    for (const type of ['DhcpServing', 'Dhcpv6Serving', 'RouterAdvertising']) {
      await eventually(`${type} True`, async () => (await networkCondition(type))?.status === ConditionStatus.CONDITION_STATUS_TRUE, 15_000);
    }

    for (const [name, text] of [['udhcpc-hook.sh', HOOK4], ['dhclient6-hook.sh', HOOK6]] as const) {
      await writeFile(path.join(dir, name), text);
      await chmod(path.join(dir, name), 0o755);
    }
    // dhclient's files live in the guest's /tmp (a tmpfs): a fresh lease file means a fresh
    // DUID-LLT made from eth0's MAC (the host's /var/lib/dhcp would lend it the host's DUID).
    await writeFile(path.join(dir, 'dhclient6.conf'), 'timeout 30;\nrequest dhcp6.name-servers, dhcp6.domain-search;\n');
    const d6 = `-cf ${dir}/dhclient6.conf -sf ${dir}/dhclient6-hook.sh -lf /tmp/dhclient6.leases -pf /tmp/dhclient6.pid`;
    const guest = [
      'set -e',
      // No DAD on the guest's NIC: dhclient cannot bind [fe80::...]:546 while its link-local
      // address is tentative, and DAD would cost a second or more of emulated time.
      'echo 0 > /proc/sys/net/ipv6/conf/eth0/accept_dad',
      'ip link set eth0 up',
      `busybox udhcpc -i eth0 -n -q -t 10 -T 2 -s ${dir}/udhcpc-hook.sh`,
      'echo "guest-addr4 $(ip -4 -o addr show dev eth0)"',
      'ping -c 1 -W 5 10.64.0.1 >/dev/null && echo guest-ping4-ok',
      // -1: one try, exit 2 if nothing came in `timeout`; it forks into the background once bound.
      `dhclient -6 -1 -v ${d6} eth0`,
      'kill "$(cat /tmp/dhclient6.pid)"',
      // The DHCPv6 exchange can beat the router advertisement (an answer to the guest's RS waits
      // up to 3 s for the rate limit): wait for the RA's default route, up to 20 s.
      'for i in $(seq 1 40); do ip -6 route show default | grep -q "proto ra" && break; sleep 0.5; done',
      'ip -6 -o addr show dev eth0 | sed "s/^/guest-addr6 /"',
      'ip -6 route show dev eth0 | sed "s/^/guest-route6 /"',
      `ping -6 -c 1 -W 5 ${GW6} >/dev/null && echo guest-ping6-ok`,
    ].join('\n');
    const t0 = performance.now();
    const vm = await runVm(host(), { share: dir, tap: TAP, mac: VM_MAC, script: guest });
    const out = vm.all ?? '';
    console.log(`agent-vm-tap-ipv6: prepare.sh ${vmAgent.prepareSeconds()} s, VM boot + DHCPv4 + DHCPv6 + poweroff ${secs(t0)} s`);
    const why = `run.sh output:\n${out}\nagent log (tail):\n${session.agent!.logs().slice(-4000)}`;
    expect(vm.exitCode, why).toBe(0);

    // IPv4, as the guest's udhcpc understood it: the attachment's static address.
    expect(printed(out, 'udhcpc-bound'), why).toEqual({ ip: VM_IP, mask: '24', router: '10.64.0.1', serverid: '10.64.0.2', lease: '600' });
    expect(out).toMatch(/^guest-addr4 \d+: eth0 +inet 10\.64\.0\.42\/24 /m);
    expect(out).toMatch(/^guest-ping4-ok\r?$/m);

    // IPv6, as the guest's dhclient -6 understood it: exactly the attachment's static address
    // (reserved for its MAC), the lifetimes from leaseSeconds, the DNS settings.
    expect(printed(out, 'dhclient6-BOUND6'), why).toEqual({
      new_ip6_address: VM_IP6,
      new_ip6_prefixlen: '128',
      new_preferred_life: '900',
      new_max_life: '1800',
      new_dhcp6_name_servers: 'fd00:64::53',
      new_dhcp6_domain_search: 'v6.example.',
    });
    // The kernel's view in the guest: that address on eth0, the prefix on-link (a prefix route
    // that expires: the advertisement's prefix information) and a default route via the
    // bridge's link-local address (both from the agent's advertisements).
    expect(out, why).toMatch(/^guest-addr6 \d+: eth0 +inet6 fd00:64::42\/128 scope global /m);
    expect(out).toMatch(/^guest-addr6 \d+: eth0 +inet6 fe80::5054:ff:fe12:3456\/64 scope link/m);
    expect(out).toMatch(/^guest-route6 fd00:64::\/64 proto kernel metric \d+ expires \d+sec /m);
    expect(out).toMatch(/^guest-route6 default via fe80::[0-9a-f:]+ proto ra /m);
    expect(out).toMatch(/^guest-ping6-ok\r?$/m);
    // Managed mode: the advertised prefix is not autonomous, so no SLAAC address besides it.
    expect(out).not.toMatch(/^guest-addr6 .*inet6 fd00:64::(?!42\/)/m);

    // The independent witnesses: the agent's ListLeases has that MAC bound to both addresses.
    const leases = (await rpc(client, client.listLeases, { network: '' })).leases;
    expect(leases).toEqual(expect.arrayContaining([
      expect.objectContaining({ network: NETWORK, ip: VM_IP, mac: VM_MAC, state: LeaseState.LEASE_STATE_BOUND }),
      expect.objectContaining({ network: NETWORK, ip: VM_IP6, mac: VM_MAC, state: LeaseState.LEASE_STATE_BOUND }),
    ]));
    expect(leases).toHaveLength(2);
    // ListIpUsage: the IPv6 subnet holds the address, named by the attachment.
    const usage = (await rpc(client, client.listIpUsage, { network: NETWORK })).networks;
    const v6 = usage.find((u) => u.cidr === 'fd00:64::/64');
    expect(v6, JSON.stringify(usage)).toBeDefined();
    expect(v6!.ips).toEqual(expect.arrayContaining([
      expect.objectContaining({ ip: VM_IP6, holderKind: IpHolderKind.IP_HOLDER_KIND_ATTACHMENT, holderName: ATTACHMENT }),
      expect.objectContaining({ ip: GW6, holderKind: IpHolderKind.IP_HOLDER_KIND_GATEWAY }),
    ]));
    const ctlLeases = await hostnetctl(session.socket, ['get', 'leases', '-o', 'json']);
    expect(ctlLeases.exitCode, ctlLeases.stderr).toBe(0);
    expect(ctlLeases.stdout).toContain(VM_IP6);
    const ctlIps = await hostnetctl(session.socket, ['get', 'ips', '--network', NETWORK]);
    expect(ctlIps.exitCode, ctlIps.stderr).toBe(0);
    expect(ctlIps.stdout).toContain(VM_IP6);
  }, 420_000);
});
