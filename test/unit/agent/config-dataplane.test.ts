// hostnet-agent --dataplane and the config file's `dataplane:` key: default, precedence, errors.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadAgentConfig } from '../../../agent/config.js';

function configFile(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'hostnet-config-')), 'agent.yaml');
  writeFileSync(file, text);
  return file;
}

describe('agent config: dataplane backend', () => {
  it('is netlink unless asked', () => {
    expect(loadAgentConfig(['--config', configFile('{}\n')]).dataplane).toBe('netlink');
  });

  it('comes from the file, and the flag wins over the file', () => {
    const file = configFile('dataplane: iproute2\n');
    expect(loadAgentConfig(['--config', file]).dataplane).toBe('iproute2');
    expect(loadAgentConfig(['--config', file, '--dataplane', 'netlink']).dataplane).toBe('netlink');
  });

  it('refuses an unknown backend, naming where it came from and the choices', () => {
    expect(() => loadAgentConfig(['--config', configFile('{}\n'), '--dataplane', 'ebpf']))
      .toThrow(new ConfigError('--dataplane: "ebpf" is not one of netlink, iproute2'));
    const file = configFile('dataplane: nl\n');
    expect(() => loadAgentConfig(['--config', file])).toThrow(`${file}: dataplane: "nl" is not one of netlink, iproute2`);
  });

  it('is listed in --help', () => {
    expect(() => loadAgentConfig(['--help'])).toThrow(/--dataplane netlink\|iproute2/);
  });
});
