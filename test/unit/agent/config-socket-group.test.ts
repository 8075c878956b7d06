// hostnet-agent --socket-group and the config file's `socketGroup:`; --help; resolving a group.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, HelpRequested, loadAgentConfig } from '../../../agent/config.js';
import { resolveGroup } from '../../../agent/server/socket-group.js';

function configFile(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'hostnet-config-')), 'agent.yaml');
  writeFileSync(file, text);
  return file;
}

describe('agent config: socket group', () => {
  it('is none unless asked; comes from the file (either spelling); the flag wins', () => {
    expect(loadAgentConfig(['--config', configFile('{}\n')]).socketGroup).toBeNull();
    expect(loadAgentConfig(['--config', configFile('socketGroup: hostnet\n')]).socketGroup).toBe('hostnet');
    expect(loadAgentConfig(['--config', configFile('socket-group: hostnet\n')]).socketGroup).toBe('hostnet');
    expect(loadAgentConfig(['--config', configFile('socketGroup: hostnet\n'), '--socket-group', 'adm']).socketGroup).toBe('adm');
  });

  it('--help is its own error carrying the usage, which names every flag', () => {
    let caught: unknown;
    try {
      loadAgentConfig(['--help']);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(HelpRequested);
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as Error).message).toMatch(/^usage: hostnet-agent .*--socket-group GROUP/);
  });

  it('resolves names with getent and numbers as they are, and names an unknown group', async () => {
    expect(await resolveGroup('root')).toBe(0);
    expect(await resolveGroup('1234')).toBe(1234);
    await expect(resolveGroup('hostnet-no-such-group')).rejects.toThrow(
      'socket group hostnet-no-such-group: no such group (getent group hostnet-no-such-group found nothing)');
  });
});
