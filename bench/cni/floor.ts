// The floor under any plugin written for Node: executables that start Node and do nothing else,
// exec'd the way hostnet-cni is (found in CNI_PATH, `#!/usr/bin/env node`, an ES module), so the
// difference to the plugin's figures is the plugin's own work. One also loads @grpc/grpc-js,
// to show what that library alone would add to every ADD.
import { createRequire } from 'node:module';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../../dataplane/testing/project-root.js';

export const FLOOR_EMPTY = 'hbc-node-empty.mjs';
export const FLOOR_GRPC = 'hbc-node-grpc.mjs';

export interface Floor {
  cniPath: string[];
  close(): Promise<void>;
}

export async function openFloor(): Promise<Floor> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hostnet-bench-cni-floor-'));
  const grpc = createRequire(path.join(projectRoot(import.meta.dirname), 'package.json')).resolve('@grpc/grpc-js');
  const scripts: [string, string][] = [
    [FLOOR_EMPTY, '#!/usr/bin/env node\n'],
    [FLOOR_GRPC, `#!/usr/bin/env node\nawait import(${JSON.stringify(pathToFileURL(grpc).href)});\n`],
  ];
  for (const [name, text] of scripts) {
    await writeFile(path.join(dir, name), text);
    await chmod(path.join(dir, name), 0o755);
  }
  return { cniPath: [dir], close: () => rm(dir, { recursive: true, force: true }) };
}
