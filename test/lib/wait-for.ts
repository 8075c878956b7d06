// Polling a probe until it returns a value, for the integration tests. Unlike eventually()
// (agent-state.ts) only undefined means "not yet": false is a value, and an exception from the
// probe fails the wait at once.
export async function waitFor<T>(
  what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000, intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
