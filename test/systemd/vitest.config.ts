// The real-systemd suite's own config: run by test/systemd/run.sh inside the VM fixture with
// systemd as PID 1 (run.sh --systemd), never on the host (it installs the package and starts
// hostnet-agent.service).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'systemd',
    include: ['test/systemd/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
