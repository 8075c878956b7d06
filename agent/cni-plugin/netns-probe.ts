// DEL without an agent: whether there is anything left in the container to undo. Nothing is
// when the namespace is not given or gone, or has no interface of that name (a veth pair dies
// with its namespace, and the agent's own records are collected by GC or its next start).
// Spawns nsenter + ip, which only this rare path pays for.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

export async function containerSideGone(netns: string, ifName: string): Promise<boolean> {
  if (!netns || !existsSync(netns)) return true;
  return new Promise((resolve) => {
    execFile('nsenter', [`--net=${netns}`, 'ip', '-o', 'link', 'show', 'dev', ifName], { timeout: 2000, env: { LC_ALL: 'C', PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' } },
      (err, _out, stderr) => {
        // "Device "x" does not exist." from ip inside the namespace: gone. Anything else (nsenter
        // refused, a timeout): we cannot tell, so the interface may be there.
        resolve(err !== null && /does not exist/.test(String(stderr)));
      });
  });
}
