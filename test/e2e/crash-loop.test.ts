// kill -9 at random points of an Apply, then a restart: the agent must finish or remove what it
// half made (a veth created but not yet marked, a peer not yet up) and converge to all Ready,
// with nothing left that looks foreign. Each round swaps a few hundred veth attachments for
// others, kills the agent 30 to 700 ms into the Apply, restarts it and checks the kernel with
// `ip -j` (the witness), not only the agent's conditions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DesiredState } from '../../agent/api/gen/hostnet/v1/resources.js';
import { ipLinks } from '../../dataplane/testing/ip.js';
import { buildDist, rpc } from '../lib/agent-process.js';
import { AgentSession } from '../lib/agent-session.js';
import { eventually, network, veth } from '../lib/agent-state.js';
import { useNetns } from '../lib/netns.js';

beforeAll(buildDist);

const ROUNDS = 8;
const PER_SET = 240;
const NETWORKS = 3;

/** A small seeded generator, so a failing round can be replayed (the seed is printed). */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

describe('kill -9 during Apply, then restart', () => {
  const ns = useNetns(2, 'all', 'crash');
  const host = (): string => ns[0]!;
  const work = (): string => ns[1]!;
  const session = new AgentSession();
  const start = async (): Promise<void> => { await session.boot(host()); };
  const apply = (state: DesiredState) => rpc(session.client, session.client.apply, { state, dryRun: false });

  /** Set `set` (A or B) of PER_SET veths, spread over the networks. */
  const desired = (generation: number, set: 'a' | 'b'): DesiredState => DesiredState.fromJSON({
    generation,
    networks: Array.from({ length: NETWORKS }, (_, n) => network(`n${n}`, 10 + n)),
    attachments: Array.from({ length: PER_SET }, (_, i) =>
      veth(`${set}-${i}`, `n${i % NETWORKS}`, `h${set}-${i}`, work(), `p${set}-${i}`)),
  });

  const allReady = (expected: number): Promise<boolean> => session.allReady({ attachments: expected });

  /** What is wrong in the kernel for `set`, as ip sees it; empty when all is well. */
  async function witness(set: 'a' | 'b'): Promise<string[]> {
    const wrong: string[] = [];
    const hostLinks = (await ipLinks(host())).filter((l) => l.ifname !== 'lo');
    for (const l of hostLinks) {
      if (!l.ifalias?.startsWith('hostnet:')) wrong.push(`host ${l.ifname} has no hostnet marker (alias ${String(l.ifalias)})`);
    }
    const veths = hostLinks.filter((l) => /^h[ab]-/.test(l.ifname)).map((l) => l.ifname).sort();
    const want = Array.from({ length: PER_SET }, (_, i) => `h${set}-${i}`).sort();
    if (veths.join() !== want.join()) wrong.push(`host veths: ${veths.length} present, ${want.length} desired, e.g. ${veths.find((v) => !want.includes(v)) ?? want.find((v) => !veths.includes(v))}`);
    const peers = (await ipLinks(work())).filter((l) => l.ifname !== 'lo');
    for (const p of peers) {
      if (!p.ifname.startsWith(`p${set}-`)) wrong.push(`peer ${p.ifname} left over`);
      else if (!p.flags.includes('UP')) wrong.push(`peer ${p.ifname} is down`);
    }
    if (peers.length !== PER_SET) wrong.push(`${peers.length} peers, ${PER_SET} desired`);
    return wrong;
  }

  beforeAll(async () => {
    await session.open('hostnet-crash-');
    await start();
    await apply(desired(1, 'a'));
    await eventually('set a Ready', () => allReady(PER_SET), 60_000);
  });
  afterAll(() => session.close());

  it(`converges after each of ${ROUNDS} kills at random points, with nothing half made left`, async () => {
    const seed = Number(process.env.HOSTNET_CRASH_SEED ?? Date.now() % 1_000_000);
    const next = random(seed);
    let interrupted = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const set = round % 2 === 0 ? 'b' : 'a';
      const delay = 30 + Math.floor(next() * 670);
      const applying = apply(desired(round + 2, set)).catch(() => undefined);
      await new Promise((r) => setTimeout(r, delay));
      await session.agent!.kill9();
      await applying;
      await start();
      const line = session.agent!.logs().split('\n').find((l) => l.includes('"converged after start"'));
      const actions = line ? (JSON.parse(line) as { actions?: number }).actions ?? 0 : 0;
      if (actions > 0) interrupted++;
      if (process.env.HOSTNET_CRASH_DEBUG) console.log(`round ${round} delay ${delay}: first pass ${actions} actions`);
      const context = `seed ${seed}, round ${round} (set ${set}, killed after ${delay} ms)`;
      // The stored state is whole: either the old set or the new one.
      const stored = await rpc(session.client, session.client.getState, {});
      const storedSet = stored.state?.attachments[0]?.name.startsWith('b-') ? 'b' : 'a';
      await eventually(`all Ready after the restart, ${context}`, () => allReady(PER_SET), 60_000);
      expect(await witness(storedSet), context).toEqual([]);
      // Finish the swap if the kill came before the new state was stored.
      if (storedSet !== set) {
        await apply(desired(round + 2, set));
        await eventually(`set ${set} Ready, ${context}`, () => allReady(PER_SET), 60_000);
        expect(await witness(set), context).toEqual([]);
      }
    }
    // The kills really landed inside Applies (a restart found work to finish) in some rounds.
    expect(interrupted, `seed ${seed}`).toBeGreaterThan(0);
  });
});
