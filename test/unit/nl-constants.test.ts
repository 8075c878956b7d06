// Every number in dataplane/nl/constants.ts is checked against the kernel's own UAPI headers:
// we compile a C program that prints each name's value and compare.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as constants from '../../dataplane/nl/constants.js';

// Names that are ours, not the kernel's.
const notInHeaders = new Set(['NLA_TYPE_MASK', 'OPER_STATES']);

describe('rtnetlink constants', () => {
  it('match /usr/include/linux', () => {
    const names = Object.entries(constants)
      .filter(([name, value]) => typeof value === 'number' && !notInHeaders.has(name))
      .map(([name]) => name);
    const source = [
      '#include <stdio.h>',
      '#include <sys/ioctl.h>',
      '#include <sys/socket.h>',
      '#include <linux/netlink.h>',
      '#include <linux/rtnetlink.h>',
      '#include <linux/if.h>',
      '#include <linux/if_link.h>',
      '#include <linux/if_addr.h>',
      '#include <linux/if_ether.h>',
      '#include <linux/neighbour.h>',
      '#include <linux/veth.h>',
      '#include <linux/if_tun.h>',
      '#include <linux/net_namespace.h>',
      'int main(void) {',
      ...names.map((n) => `  printf("%s %lld\\n", "${n}", (long long)(${n}));`),
      '  return 0;',
      '}',
    ].join('\n');
    const dir = mkdtempSync(join(tmpdir(), 'hn-consts-'));
    try {
      writeFileSync(join(dir, 'c.c'), source);
      execFileSync('cc', ['-o', join(dir, 'c'), join(dir, 'c.c')]);
      const fromHeaders = Object.fromEntries(
        execFileSync(join(dir, 'c'), { encoding: 'utf8' })
          .trim()
          .split('\n')
          .map((line) => line.split(' '))
          .map(([name, value]) => [name, Number(value)]),
      );
      const ours = Object.fromEntries(names.map((n) => [n, (constants as Record<string, unknown>)[n]]));
      expect(ours).toEqual(fromHeaders);
      expect(names.length).toBeGreaterThan(100);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
