// One real VM on a TAP attachment gets its lease from the hostnet AGENT: the real agent
// (compiled dist/agent/main.js) runs against a fresh hntest-* host namespace; a desired state
// with one IPv4 network with DHCP (gateway on the bridge, a reservation for the VM's MAC) and
// one TAP attachment is applied through gRPC, so the agent creates the bridge, the TAP and the
// DHCP server. The VM fixture (test/vm/run.sh, run inside the host namespace so QEMU opens the
// agent's TAP there) boots with a virtio NIC on it, and busybox udhcpc in the guest asks for a
// lease. Checked: what the guest's client says it got (its own output); as independent witness
// the agent's ListLeases (that MAC bound to that IP) and `hostnetctl get leases -o json`; and
// the attachment's Negotiated condition (WatchStatus) turned True while QEMU held the TAP open
// and back to False/NoCarrier after the VM powered off.
// One boot is 5 to 10 s under TCG (more right after prepare.sh rebuilt the initrd): one test.
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ConditionStatus, LeaseState } from '../../agent/api/gen/hostnet/v1/status.js';
import { hostnetctl, rpc } from '../lib/agent-process.js';
import { AgentSession } from '../lib/agent-session.js';
import { eventually, state, tap, type StateJson } from '../lib/agent-state.js';
import { useNetns } from '../lib/netns.js';
import { cannotRunVm, runVm, secs, useVmAgent } from '../lib/vm-agent.js';

const VM_MAC = '52:54:00:12:34:56';
const VM_IP = '10.63.0.42';
const TAP = 'tapvm0';
const ATTACHMENT = 'vm0-nic0';

const desired: StateJson = {
  generation: 1,
  networks: [{
    name: 'vmnet', ipFamily: 'IPV4', cidr: '10.63.0.0/24', gateway: '10.63.0.1', gatewayOnBridge: true,
    dhcp: {
      enabled: true, serverAddress: '10.63.0.2',
      pools: [{ start: '10.63.0.100', end: '10.63.0.199' }],
      dnsServers: ['10.63.0.53', '10.63.0.54'],
      domainName: 'vm.example',
      leaseSeconds: 600,
      reservations: [{ mac: VM_MAC, ip: VM_IP, hostname: 'vm0' }],
    },
  }],
  // No vnetHdr: QEMU opens the TAP with IFF_VNET_HDR (its default), which sets that flag on
  // the device; the agent must keep the TAP it made (same ifindex), not recreate it.
  attachments: [{ ...tap(ATTACHMENT, 'vmnet', TAP, { mac: VM_MAC }), tap: { ifName: TAP } }],
};

// udhcpc's event hook in the guest: prints what the client understood, one "udhcpc-EVENT
// NAME=VALUE" line per variable, and installs a bound address (so the guest can ping).
const HOOK = `#!/bin/sh
for v in interface ip subnet mask router dns domain serverid lease; do
  eval "val=\\\${$v:-}"
  echo "udhcpc-$1 $v=$val"
done
case $1 in
  bound|renew) ip addr add "$ip/\${mask:-24}" dev "$interface" ;;
  deconfig) ip -4 addr flush dev "$interface" ;;
esac
exit 0
`;

const ns = useNetns(1, 'all', 'agvm');
const host = (): string => ns[0]!;

const session = new AgentSession();

const negotiated = () => session.condition('attachments', ATTACHMENT, 'Negotiated');

describe.skipIf(cannotRunVm)('the agent serves DHCP to a VM on a TAP attachment', () => {
  const vmAgent = useVmAgent(session, host, 'hntest-agvm-');

  it('the guest\'s udhcpc gets the reserved lease from the agent over the agent\'s TAP', async () => {
    const client = session.client;
    const dir = session.dir;
    const res = await rpc(client, client.apply, { state: state(desired), dryRun: false });
    expect(res.generation).toBe(1);
    await eventually('DhcpServing True', async () => {
      const c = await session.condition('networks', 'vmnet', 'DhcpServing');
      return c?.status === ConditionStatus.CONDITION_STATUS_TRUE;
    });
    // The agent made the TAP (persistent, on the bridge); nobody holds it open yet.
    const tapLink = async () => JSON.parse((await execa('ip', ['-n', host(), '-d', '-j', 'link', 'show', TAP])).stdout)[0] as { ifindex: number; master?: string; linkinfo?: { info_kind?: string } };
    const link = await tapLink();
    expect(link).toMatchObject({ master: 'hn-vmnet', linkinfo: { info_kind: 'tun' } });
    expect((await negotiated())?.status).toBe(ConditionStatus.CONDITION_STATUS_FALSE);

    // Every Negotiated change of the attachment while the VM runs.
    const seen: string[] = [];
    const stream = client.watchStatus({ sendInitial: false });
    stream.on('data', (r: { resourceName: string; condition?: { type: string; status: number; reason: string } }) => {
      if (r.resourceName === ATTACHMENT && r.condition?.type === 'Negotiated') seen.push(`${r.condition.status === ConditionStatus.CONDITION_STATUS_TRUE ? 'True' : 'False'}/${r.condition.reason}`);
    });
    stream.on('error', () => undefined);

    const hook = path.join(dir, 'udhcpc-hook.sh');
    await writeFile(hook, HOOK);
    await chmod(hook, 0o755);
    const guest = [
      'set -e',
      'ip link set eth0 up',
      `busybox udhcpc -i eth0 -n -q -t 10 -T 2 -s ${hook}`,
      'echo "guest-addr $(ip -4 -o addr show dev eth0)"',
      'ping -c 1 -W 5 10.63.0.1 >/dev/null && echo guest-ping-ok',
    ].join('\n');
    const t0 = performance.now();
    let vmSeconds = '';
    let out = '';
    let exitCode: number | undefined;
    try {
      const vm = await runVm(host(), { share: dir, tap: TAP, mac: VM_MAC, script: guest });
      vmSeconds = secs(t0);
      out = vm.all ?? '';
      exitCode = vm.exitCode;
      // QEMU closed the TAP: no carrier again.
      await eventually('Negotiated False after poweroff', async () => (await negotiated())?.status === ConditionStatus.CONDITION_STATUS_FALSE);
    } finally {
      stream.cancel();
    }
    console.log(`agent-vm-tap: prepare.sh ${vmAgent.prepareSeconds()} s, VM boot + DHCP + poweroff ${vmSeconds} s`);
    expect(exitCode, `run.sh output:\n${out}\nagent log (tail):\n${session.agent!.logs().slice(-4000)}`).toBe(0);
    // The same TAP QEMU opened: the agent did not replace it while the VM ran.
    expect((await tapLink()).ifindex).toBe(link.ifindex);

    // What the guest's client understood (its own output).
    const bound = new Map<string, string>();
    for (const m of out.matchAll(/^udhcpc-bound (\w+)=(.*?)\r?$/gm)) bound.set(m[1] ?? '', m[2] ?? '');
    expect(Object.fromEntries(bound), out).toEqual({
      interface: 'eth0',
      ip: VM_IP,
      subnet: '255.255.255.0',
      mask: '24',
      router: '10.63.0.1',
      dns: '10.63.0.53 10.63.0.54',
      domain: 'vm.example',
      serverid: '10.63.0.2',
      lease: '600',
    });
    expect(out).toMatch(/^guest-addr \d+: eth0 +inet 10\.63\.0\.42\/24 /m);
    expect(out).toMatch(/^guest-ping-ok\r?$/m);

    // Negotiated went True (carrier up: QEMU held the TAP) and back to False/NoCarrier.
    expect(seen, session.agent!.logs().slice(-3000)).toContain('True/CarrierUp');
    expect(seen.at(-1)).toBe('False/NoCarrier');

    // The independent witnesses: the agent's ListLeases and hostnetctl have that MAC bound to that IP.
    const leases = (await rpc(client, client.listLeases, { network: '' })).leases;
    expect(leases).toEqual([expect.objectContaining({ network: 'vmnet', ip: VM_IP, mac: VM_MAC, state: LeaseState.LEASE_STATE_BOUND })]);
    const ctl = await hostnetctl(session.socket, ['get', 'leases', '-o', 'json']);
    expect(ctl.exitCode, ctl.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(ctl.stdout))).toMatch(new RegExp(`"mac":"${VM_MAC}"`));
    expect(ctl.stdout).toContain(VM_IP);
  }, 420_000);
});
