// hostnet-agent --metrics-address and the config file's `metricsAddress:` key: off unless set,
// precedence, and addresses refused when the config is read (not when the agent is half up).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadAgentConfig } from '../../../agent/config.js';
import { parseListenAddress } from '../../../agent/metrics/address.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hostnet-config-metrics-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configFile(text: string): string {
  const file = path.join(dir, `agent-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return file;
}

describe('agent config: metrics address', () => {
  it('is off unless set; the file sets it (either spelling) and the flag wins', () => {
    expect(loadAgentConfig(['--config', configFile('{}\n')]).metricsAddress).toBeNull();
    expect(loadAgentConfig(['--config', configFile('metricsAddress: 127.0.0.1:9475\n')]).metricsAddress).toBe('127.0.0.1:9475');
    const file = configFile('metrics-address: "[::1]:9475"\n');
    expect(loadAgentConfig(['--config', file]).metricsAddress).toBe('[::1]:9475');
    expect(loadAgentConfig(['--config', file, '--metrics-address', '0.0.0.0:9100']).metricsAddress).toBe('0.0.0.0:9100');
  });

  it('refuses an address without a port or with a bad one, naming where it came from', () => {
    expect(() => loadAgentConfig(['--config', configFile('{}\n'), '--metrics-address', '9475'])).toThrow(ConfigError);
    expect(() => loadAgentConfig(['--config', configFile('{}\n'), '--metrics-address', '127.0.0.1:70000'])).toThrow(/^--metrics-address: address "127.0.0.1:70000": expected HOST:PORT/);
    const file = configFile('metricsAddress: "::1:9475"\n');
    expect(() => loadAgentConfig(['--config', file])).toThrow(`${file}: metricsAddress: address "::1:9475"`);
  });

  it('parses host and port, IPv6 in brackets', () => {
    expect(parseListenAddress('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListenAddress('localhost:9475')).toEqual({ host: 'localhost', port: 9475 });
    expect(parseListenAddress('[::1]:9475')).toEqual({ host: '::1', port: 9475 });
  });
});
