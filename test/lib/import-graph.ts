// The project's file-level import graph, read from the sources with TypeScript's own import
// scanner (static, type-only, re-exports and dynamic `import()` alike), and the cycles in it.
// Used by test/unit/architecture.test.ts to check which way the arrows point.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface ImportEdge {
  /** Importing file, relative to the root, e.g. "dhcp/server.ts". */
  from: string;
  /** Imported file, relative to the root; for an unresolved import, the specifier as written. */
  to: string;
  resolved: boolean;
}

export interface ImportGraph {
  files: string[];
  edges: ImportEdge[];
}

function listTs(root: string, dir: string, skip: (rel: string) => boolean, out: string[]): void {
  for (const e of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, e.name);
    if (skip(rel)) continue;
    if (e.isDirectory()) listTs(root, rel, skip, out);
    else if (e.isFile() && rel.endsWith('.ts') && !rel.endsWith('.d.ts')) out.push(rel);
  }
}

/** NodeNext specifiers name the emitted .js: map back to the .ts source beside it. */
function resolveRelative(root: string, from: string, spec: string): string | undefined {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  for (const cand of [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, `${base}/index.ts`]) {
    if (statSync(path.join(root, cand), { throwIfNoEntry: false })?.isFile()) return cand;
  }
  return undefined;
}

/** Every relative import in the .ts files under `dirs`; bare specifiers (packages, node:) are left out. */
export function readImportGraph(root: string, dirs: string[], skip: (rel: string) => boolean = () => false): ImportGraph {
  const files: string[] = [];
  for (const d of dirs) listTs(root, d, skip, files);
  const edges: ImportEdge[] = [];
  for (const from of files) {
    const info = ts.preProcessFile(readFileSync(path.join(root, from), 'utf8'), true, true);
    for (const { fileName: spec } of info.importedFiles) {
      if (!spec.startsWith('.')) continue;
      const to = resolveRelative(root, from, spec);
      edges.push(to ? { from, to, resolved: true } : { from, to: spec, resolved: false });
    }
  }
  return { files, edges };
}

/**
 * One concrete cycle (a -> b -> ... -> a) per strongly connected component with more than one
 * file or a file importing itself (Tarjan's algorithm, iterative so deep graphs cannot overflow).
 */
export function findCycles(g: ImportGraph): string[][] {
  const next = new Map<string, string[]>();
  for (const f of g.files) next.set(f, []);
  for (const e of g.edges) if (e.resolved && next.has(e.to)) next.get(e.from)?.push(e.to);

  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  for (const start of g.files) {
    if (index.has(start)) continue;
    const work: { v: string; i: number }[] = [{ v: start, i: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const succ = next.get(top.v)!;
      if (top.i < succ.length) {
        const w = succ[top.i++]!;
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) {
          low.set(top.v, Math.min(low.get(top.v)!, index.get(w)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.v, Math.min(low.get(parent.v)!, low.get(top.v)!));
      if (low.get(top.v) === index.get(top.v)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          comp.push(w);
        } while (w !== top.v);
        if (comp.length > 1 || next.get(top.v)!.includes(top.v)) components.push(comp);
      }
    }
  }
  return components.map((comp) => cycleIn(comp, next));
}

/** A shortest cycle through the component's first file (breadth-first inside the component). */
function cycleIn(comp: string[], next: Map<string, string[]>): string[] {
  const members = new Set(comp);
  const start = [...comp].sort()[0]!;
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of next.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path: string[] = [start];
        for (let x: string | undefined = v; x !== undefined && x !== start; x = prev.get(x)) path.splice(1, 0, x);
        path.push(start);
        return path;
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/**
 * The module a file belongs to: a directory right under a top-level package (agent/reconcile,
 * dhcp/options, dataplane/netlink, ...), or the file itself when it sits directly in one
 * (agent/naming.ts). Two modules importing each other is a cycle even when no two files are.
 */
export function moduleOf(file: string): string {
  const parts = file.split('/');
  return parts.length >= 3 ? parts.slice(0, 2).join('/') : file;
}

/** The graph between modules; each edge keeps one file import that makes it, for the report. */
export function moduleGraph(g: ImportGraph): ImportGraph & { via: Map<string, string> } {
  const via = new Map<string, string>();
  const edges: ImportEdge[] = [];
  for (const e of g.edges) {
    if (!e.resolved) continue;
    const [from, to] = [moduleOf(e.from), moduleOf(e.to)];
    if (from === to || via.has(`${from} ${to}`)) continue;
    via.set(`${from} ${to}`, `${e.from} -> ${e.to}`);
    edges.push({ from, to, resolved: true });
  }
  const files = [...new Set([...g.files.map(moduleOf), ...edges.map((e) => e.to)])];
  return { files, edges, via };
}
