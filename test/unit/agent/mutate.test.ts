import { describe, expect, it } from 'vitest';
import {
  checkExpectedGeneration, deleteAttachment, deleteNetwork, MutationError, upsertAttachment, upsertNetwork,
} from '../../../agent/desired/mutate.js';
import { validateDesiredState } from '../../../agent/desired/validate.js';
import { examplesOf, ISSUE_EXAMPLE_TEXT } from '../../lib/desired-example.js';

const { example } = examplesOf(ISSUE_EXAMPLE_TEXT);

describe('single-resource edits', () => {
  it('upserts replace in place or append, and bump the generation', () => {
    const s = example();
    const changed = upsertNetwork(s, { ...s.networks[0]!, mtu: 9000 });
    expect(changed.generation).toBe(2);
    expect(changed.networks).toHaveLength(1);
    expect(changed.networks[0]?.mtu).toBe(9000);
    expect(s.networks[0]?.mtu).toBe(1500); // the input is not modified
    const more = upsertAttachment(changed, { ...s.attachments[0]!, name: 'vm2-nic0', mac: undefined, kind: { $case: 'tap', tap: { ifName: 'tap-vm2', multiQueue: false, vnetHdr: false } } });
    expect(more.attachments.map((a) => a.name)).toEqual(['vm1-nic0', 'pod-a-net1', 'vm2-nic0']);
    expect(validateDesiredState(more, s)).toEqual([]);
  });

  it('a network with attachments is deleted only with cascade', () => {
    const s = example();
    expect(() => deleteNetwork(s, 'web')).toThrow(/still has attachments \(vm1-nic0, pod-a-net1\)/);
    const gone = deleteNetwork(s, 'web', true);
    expect(gone).toMatchObject({ generation: 2, networks: [], attachments: [] });
    expect(() => deleteNetwork(s, 'nope')).toThrow(MutationError);
    const noPod = deleteAttachment(s, 'pod-a-net1');
    expect(noPod.attachments.map((a) => a.name)).toEqual(['vm1-nic0']);
    expect(() => deleteAttachment(s, 'nope')).toThrow(/does not exist/);
  });

  it('checks the expected generation', () => {
    const s = example();
    expect(() => checkExpectedGeneration(s, undefined)).not.toThrow();
    expect(() => checkExpectedGeneration(s, 1)).not.toThrow();
    try {
      checkExpectedGeneration(s, 0);
      expect.unreachable();
    } catch (err) {
      expect((err as MutationError).code).toBe('generation-mismatch');
    }
  });

  it('an upsert that breaks a rule is caught by validation against the stored state', () => {
    const s = example();
    const bad = upsertNetwork(s, { ...s.networks[0]!, cidr: '192.168.0.0/16' });
    expect(validateDesiredState(bad, s).map((v) => v.rule)).toContain('immutable-cidr');
  });
});
