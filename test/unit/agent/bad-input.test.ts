// Malformed desired states (issue 8 part 4): each is refused before anything is encoded or
// sent, with one line per problem naming the field's path and what was expected; errors
// repeat a bounded part of the input however large it is.
import { describe, expect, it } from 'vitest';
import { DesiredStateParseError, parseDesiredState, type TextFormat } from '../../../agent/api/desired-state.js';
import { DesiredState } from '../../../agent/api/gen/hostnet/v1/resources.js';
import { formatViolations, ValidationError, validateDesiredState } from '../../../agent/desired/validate.js';

function problems(text: string, format: TextFormat = 'yaml'): string[] {
  try {
    parseDesiredState(text, { format, source: 'f' });
  } catch (err) {
    expect(err).toBeInstanceOf(DesiredStateParseError);
    return (err as DesiredStateParseError).problems;
  }
  throw new Error(`accepted: ${text.slice(0, 80)}`);
}

const BOMB = ['a: &a [x,x,x,x,x,x,x,x,x,x]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]', 'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]', 'f: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]'].join('\n');

// [what, text, format, the one expected problem]
const CASES: [string, string, TextFormat, string][] = [
  ['generation "abc"', 'generation: abc', 'yaml', 'generation: expected an integer 0..9007199254740991, got a string ("abc")'],
  ['generation -5', 'generation: -5', 'yaml', 'generation: expected an integer 0..9007199254740991, got -5'],
  ['generation 2^64', '{"generation": 18446744073709551616}', 'json', 'generation: expected an integer 0..9007199254740991, got 18446744073709552000'],
  ['generation 2.5', 'generation: 2.5', 'yaml', 'generation: expected an integer 0..9007199254740991, got 2.5'],
  ['MTU -1', 'networks: [{name: web, mtu: -1}]', 'yaml', 'networks[0].mtu: expected an integer 0..4294967295, got -1'],
  ['MTU 1500.5', '{"networks": [{"name": "web", "mtu": 1500.5}]}', 'json', 'networks[0].mtu: expected an integer 0..4294967295, got 1500.5'],
  ['TAP owner -1', 'attachments: [{name: a, tap: {ifName: t, owner: -1}}]', 'yaml', 'attachments[0].tap.owner: expected an integer 0..4294967295, got -1'],
  ['networks not a list', 'networks: notalist', 'yaml', 'networks: expected a list of mappings (Network), got a string ("notalist")'],
  ['a network as a bare name', 'networks: [web]', 'yaml', 'networks[0]: expected a mapping (fields name, bridgeName, mtu, uplink, importedBridge, ipFamily, cidr, gateway, gatewayOnBridge, dhcp, ipv6Mode, ipv6, mode, announce), got a string ("web")'],
  ['tap and veth', 'attachments: [{name: a, tap: {ifName: t}, veth: {ifName: v}}]', 'yaml', 'attachments[0]: tap and veth are mutually exclusive (give one of tap, veth)'],
  ['two uplinks', 'networks: [{name: w, uplink: {none: {}, vlan: {parent: eth1, id: 5}}}]', 'yaml', 'networks[0].uplink: none and vlan are mutually exclusive (give one of none, vlan, vxlan, untagged)'],
  ['a string field given a number', 'networks: [{name: 600}]', 'yaml', 'networks[0].name: expected a string, got 600 (quote it)'],
  ['a bool field given yes', 'networks: [{name: w, gatewayOnBridge: yes}]', 'yaml', 'networks[0].gatewayOnBridge: expected true or false, got a string ("yes")'],
  ['an unknown enum value', 'networks: [{name: w, ipFamily: ipv4}]', 'yaml', 'networks[0].ipFamily: expected IPV4 or IPV6, got a string ("ipv4")'],
  ['a typo', 'networks: [{name: w, gatewayOnbridge: true}]', 'yaml', 'networks[0].gatewayOnbridge: unknown field (did you mean gatewayOnBridge?)'],
  ['a field given in both spellings', 'networks: [{name: w, bridgeName: a, bridge_name: b}]', 'yaml', 'networks[0].bridge_name: given twice (also as bridgeName)'],
  ['JSON duplicate key', '{"attachments": [{"name": "a"}], "attachments": []}', 'json', 'attachments: key given twice in one mapping (a second value would silently replace the first)'],
  ['nested JSON duplicate key', '{"networks": [{"name": "a"}, {"name": "b", "cidr": "x", "name": "c"}]}', 'json', 'networks[1].name: key given twice in one mapping (a second value would silently replace the first)'],
  ['YAML duplicate key', 'networks:\n  - name: a\n    name: b\n', 'yaml', 'networks[0].name: key given twice in one mapping (a second value would silently replace the first)'],
  ['YAML alias bomb', BOMB, 'yaml', 'not valid YAML: aliases expand too far (more than 100 alias uses; a YAML "billion laughs" document?)'],
];

describe('bad input is answered with the field and what was expected', () => {
  for (const [what, text, format, expected] of CASES) {
    it(what, () => expect(problems(text, format)).toEqual([expected]));
  }

  it('reports every problem of a document, each on its own line', () => {
    const p = problems('generation: -1\nnetworks: [{name: w, mtu: x, dhcp: {pools: {start: a}}}]\nattachments: 7\n');
    expect(p).toEqual([
      'generation: expected an integer 0..9007199254740991, got -1',
      'networks[0].mtu: expected an integer 0..4294967295, got a string ("x")',
      'networks[0].dhcp.pools: expected a list of mappings (IpRange), got a mapping',
      'attachments: expected a list of mappings (Attachment), got 7',
    ]);
  });

  it('accepts the proto3 JSON forms: snake_case names, integers as strings, enum numbers, null as unset', () => {
    const s = parseDesiredState('{"generation": "7", "networks": [{"name": "w", "ip_family": 4, "mtu": "1400", "dhcp": null}]}', { format: 'json' });
    expect(s.generation).toBe(7);
    expect(s.networks[0]).toMatchObject({ name: 'w', ipFamily: 4, mtu: 1400 });
    expect(s.networks[0]!.dhcp).toBeUndefined();
  });

  it('refuses a deeply nested JSON document without overflowing', () => {
    const deep = `{"networks": [{"name": "a", "x": ${'['.repeat(100_000)}${']'.repeat(100_000)}}]}`;
    expect(problems(deep, 'json')).toEqual([expect.stringMatching(/^networks\[0\]\.x: unknown field/)]);
  });
});

describe('errors repeat a bounded part of the input', () => {
  it('a 1 MB name is clipped in the loader message', () => {
    const name = 'a'.repeat(1 << 20);
    let message = '';
    try {
      parseDesiredState(JSON.stringify({ networks: [{ name, mtu: name }] }), { format: 'json' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/networks\[0\]\.mtu: expected an integer 0\.\.4294967295, got a string \("a{40}…" \(1048576 characters\)\)/);
    expect(message.length).toBeLessThan(400);
  });

  it('10,000 problems become 20 lines and a count', () => {
    const text = JSON.stringify({ attachments: Array.from({ length: 10_000 }, (_, i) => ({ name: `a${i}`, mtu: -1 })) });
    let err: DesiredStateParseError | undefined;
    try {
      parseDesiredState(text, { format: 'json' });
    } catch (e) {
      err = e as DesiredStateParseError;
    }
    expect(err?.problems).toHaveLength(10_000);
    const lines = err!.message.split('\n');
    expect(lines[0]).toBe('desired state: 10000 problems:');
    expect(lines).toHaveLength(22);
    expect(lines[21]).toBe('- … and 9980 more');
  });

  it('validation errors (what INVALID_ARGUMENT and the log carry) are bounded too', () => {
    const long = 'x'.repeat(1 << 20);
    const s = DesiredState.fromPartial({
      networks: [{ name: long }],
      attachments: Array.from({ length: 10_000 }, (_, i) => ({ name: `a${i}`, network: 'missing', kind: { $case: 'tap' as const, tap: { ifName: `t${i}` } } })),
    });
    const vs = validateDesiredState(s);
    expect(vs.length).toBeGreaterThan(10_000);
    const message = new ValidationError(vs).message;
    expect(message).toBe(formatViolations(vs));
    expect(message.length).toBeLessThan(25 * 300);
    expect(message).toMatch(/^invalid desired state, \d+ violations:\n- networks\[0\]\.name: network name "x+…\[\d+ characters cut\]…/);
    expect(message).toMatch(/\n- … and \d+ more$/);
  });

  it('a TAP owner or group of 4294967295 ((uid_t)-1, which the kernel refuses) is refused by validation', () => {
    const s = DesiredState.fromPartial({
      networks: [{ name: 'w', ipFamily: 4, cidr: '10.0.0.0/24' }],
      attachments: [{ name: 'a', network: 'w', kind: { $case: 'tap', tap: { ifName: 't', owner: 0xffff_ffff, group: 0xffff_ffff } } }],
    });
    expect(validateDesiredState(s).map((v) => `${v.path} ${v.rule}`)).toEqual(['attachments[0].tap.owner tap-id-range', 'attachments[0].tap.group tap-id-range']);
  });
});
