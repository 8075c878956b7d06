// The address protocol (IFA_PROTO) of every address in a namespace, read by addr-protocols.py
// (Python's own netlink socket): neither our codec nor iproute2 6.1, which cannot print it.
import { execa } from 'execa';

export interface WitnessAddress {
  ifindex: number;
  cidr: string;
  protocol: number;
}

const script = new URL('./addr-protocols.py', import.meta.url).pathname;

export async function addressProtocols(netns: string): Promise<WitnessAddress[]> {
  // Debian's python3 by full path: another python3 may come first on PATH (environment notes).
  const r = await execa('ip', ['netns', 'exec', netns, '/usr/bin/python3', script]);
  return JSON.parse(r.stdout) as WitnessAddress[];
}
