// Adds up vitest JSON reports into the one closing line CI reads: "tests: N passed, N failed".
// Failed tests are listed by name just above it, with the first line of their failure, and so
// are tests that passed only on their retry (vitest keeps the failed try's error on a passed
// test): CI keeps only the tail of the log, so both must be readable from there.
import { readFileSync } from 'node:fs';
import { basename, relative } from 'node:path';

interface AssertionResult {
  status: string;
  fullName: string;
  failureMessages?: string[];
}

interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults?: { name: string; status: string; message?: string; assertionResults?: AssertionResult[] }[];
}

// The first line of a failure, without ANSI colours, shortened: the full text is above in the log.
function firstLine(message: string | undefined): string {
  const line = (message ?? '').replace(/\x1b\[[0-9;]*m/g, '').split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line.trim();
}

let passed = 0;
let failed = 0;
let skipped = 0;
const missing: string[] = [];
const failures: string[] = [];
const retried: string[] = [];
for (const file of process.argv.slice(2)) {
  let r: VitestReport;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as VitestReport;
  } catch {
    missing.push(file);
    continue;
  }
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
  const suite = basename(file, '.json');
  for (const f of r.testResults ?? []) {
    const path = relative(process.cwd(), f.name) || f.name;
    const failedTests = (f.assertionResults ?? []).filter((a) => a.status === 'failed');
    for (const a of failedTests) failures.push(`[${suite}] ${path} > ${a.fullName}\n    ${firstLine(a.failureMessages?.[0])}`);
    for (const a of f.assertionResults ?? []) {
      if (a.status === 'passed' && (a.failureMessages?.length ?? 0) > 0) retried.push(`[${suite}] ${path} > ${a.fullName}\n    first try: ${firstLine(a.failureMessages?.[0])}`);
    }
    // A file that failed outside any test (an import error, a failing beforeAll with no test run).
    if (f.status === 'failed' && failedTests.length === 0) failures.push(`[${suite}] ${path}\n    ${firstLine(f.message)}`);
  }
}
// A suite that wrote no report did not run to the end: count it as a failure.
for (const file of missing) console.log(`no report from ${file}: that suite did not finish`);
failed += missing.length;
if (retried.length > 0) {
  console.log('passed on retry (flaky: look at these):');
  for (const r of retried) console.log(`  ${r}`);
  console.log(`${retried.length} of the passed tests passed only on retry`);
}
if (failures.length > 0) {
  console.log('failed:');
  for (const f of failures) console.log(`  ${f}`);
}
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 ? 1 : 0;
