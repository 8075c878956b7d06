import { defineConfig } from 'vitest/config';

// Integration tests share the kernel: run files one at a time so figures and namespaces
// stay predictable on a 2-core machine. Tests against the real kernel, real clients and real
// agents get one retry: a retried test that passed is still named in the summary (test/summary.ts,
// "passed on retry") so a flaky one is seen, and one that fails twice fails the run.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        test: {
          name: 'integration',
          retry: 1,
          include: ['test/integration/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The real agent process against network namespaces: one file at a time.
        test: {
          name: 'e2e',
          retry: 1,
          include: ['test/e2e/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'vlan',
          include: ['test/vlan/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
      {
        // The Debian package: built, installed with dpkg on this machine, removed and purged.
        test: {
          name: 'package',
          include: ['test/package/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 300_000,
        },
      },
      {
        // Run inside the QEMU VM fixture by test/debian-kernel/run.sh (Debian's kernel).
        test: {
          name: 'debian-kernel',
          include: ['test/debian-kernel/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
