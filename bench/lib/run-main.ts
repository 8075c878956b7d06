// How a bench's main() ends: an error is printed with its stack and sets exit code 1, and the
// cleanup (the bench's processes, by pid, and its namespaces) runs either way, so a failed run
// leaves nothing behind.
export function runMain(main: () => Promise<void>, cleanup: () => Promise<unknown>): void {
  main()
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.stack ?? err.message : err);
      process.exitCode = 1;
    })
    .finally(cleanup);
}
