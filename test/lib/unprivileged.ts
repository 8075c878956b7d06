// Runs one Dataplane call in a child process without CAP_NET_ADMIN, to check what a backend
// says when it lacks the capability. The child cannot load TypeScript, so the project's
// dataplane/ and the backends list are transpiled (type-stripped, file by file) into
// node_modules/.cache, where node_modules still resolves. The child keeps CAP_SYS_ADMIN so it
// can still enter the test namespace; only the networking capability is dropped (setpriv,
// util-linux, is on every Debian).
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let calls = 0;

export type ChildResult = { ok: true } | { ok: false; name: string; code?: string; message: string };

const childScript = `
const [backendsUrl, backendName, netns, method, argsJson] = process.argv.slice(2);
let dp;
try {
  const { backends } = await import(backendsUrl);
  const backend = backends.find((b) => b.name === backendName);
  dp = await backend.open(netns);
  await dp[method](...JSON.parse(argsJson));
  console.log(JSON.stringify({ ok: true }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, name: e?.name, code: e?.code, message: String(e?.message ?? e) }));
} finally {
  await dp?.close();
}
`;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

function build(outDir: string): void {
  const files = [...sources(join(root, 'dataplane')), join(root, 'test', 'integration', 'backends.ts')];
  for (const file of files) {
    const out = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: file,
    });
    const target = join(outDir, relative(root, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, out.outputText);
  }
  // Inside node_modules the project's "type": "module" no longer applies.
  writeFileSync(join(outDir, 'package.json'), '{"type":"module"}\n');
  writeFileSync(join(outDir, 'child.js'), childScript);
}

/** Opens `backendName` on `netns` in a child without CAP_NET_ADMIN and calls `method(...args)`. */
export async function callWithoutNetAdmin(backendName: string, netns: string, method: string, args: unknown[]): Promise<ChildResult> {
  // Built afresh per call (about 20 files, fast) so nothing is left in the cache afterwards.
  const outDir = join(root, 'node_modules', '.cache', `hostnet-unpriv-${process.pid}-${++calls}`);
  let r;
  try {
    build(outDir);
    const backendsUrl = `file://${join(outDir, 'test', 'integration', 'backends.js')}`;
    r = await execa('setpriv', [
      '--bounding-set=-net_admin', '--inh-caps=-net_admin', '--',
      process.execPath, join(outDir, 'child.js'), backendsUrl, backendName, netns, method, JSON.stringify(args),
    ], { reject: false });
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ChildResult;
  } catch {
    throw new Error(`child failed (exit ${r.exitCode}): ${r.stderr || r.stdout}`);
  }
}
