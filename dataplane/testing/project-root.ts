// The checkout's root, found from a helper's own location: the first directory up with a
// package.json. Works from sources (x/testing) and from compiled output (dist/x/testing) alike.
import { existsSync } from 'node:fs';
import path from 'node:path';

export function projectRoot(from: string = import.meta.dirname): string {
  let dir = from;
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}
