// Helpers for the port-security e2e tests: witnesses that do not trust the agent.
//  - nft inside the agent's namespace (ruleset, named counters, tables);
//  - a long-lived python (Debian's /usr/bin/python3, which has scapy) in each workload
//    namespace that serves TCP/UDP echo and raw IP protocols, runs connect probes, keeps open
//    connections, captures frames with an AF_PACKET socket and sends scapy frames; many
//    requests can be in flight at once (each runs in its own thread on the python side).
// Every process started here is stopped by pid in close() (the tests call it in afterAll).
import { execa, type ResultPromise } from 'execa';
import { createInterface } from 'node:readline';
import { NFT } from './nft-ruleset.js';


export const PYTHON = '/usr/bin/python3';

/** `nft -j ARGS` inside `netns`, parsed: the `nftables` array. */
export async function nftJson(netns: string, args: string[]): Promise<Record<string, unknown>[]> {
  const r = await execa('ip', ['netns', 'exec', netns, NFT, '-j', ...args]);
  return (JSON.parse(r.stdout) as { nftables: Record<string, unknown>[] }).nftables;
}

/** `nft ARGS` inside `netns` (text), failing when nft fails. */
export async function nft(netns: string, args: string[], input?: string): Promise<string> {
  return (await execa('ip', ['netns', 'exec', netns, NFT, ...args], input === undefined ? {} : { input })).stdout;
}

/** Every named counter of the hostnet tables (bridge and inet, or `families`), packets by name. */
export async function nftCounters(netns: string, families: readonly string[] = ['bridge', 'inet']): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const family of families) {
    const r = await execa('ip', ['netns', 'exec', netns, NFT, '-j', 'list', 'counters', 'table', family, 'hostnet'], { reject: false });
    if (r.exitCode !== 0) continue; // no table: no counters
    for (const item of (JSON.parse(r.stdout) as { nftables: Record<string, unknown>[] }).nftables) {
      const c = item['counter'] as { name?: string; packets?: number } | undefined;
      if (c?.name) out.set(c.name, c.packets ?? 0);
    }
  }
  return out;
}

/** `family name` of every table in `netns`. */
export async function nftTables(netns: string): Promise<string[]> {
  return (await nftJson(netns, ['list', 'tables']))
    .map((i) => i['table'] as { family: string; name: string } | undefined)
    .filter((t): t is { family: string; name: string } => t !== undefined)
    .map((t) => `${t.family} ${t.name}`);
}

/** Elements of a set in table inet hostnet, as nft prints them (addresses, prefixes, ranges). */
export async function nftSetElements(netns: string, set: string): Promise<string[]> {
  const items = await nftJson(netns, ['list', 'set', 'inet', 'hostnet', set]);
  const s = items.find((i) => i['set'])?.['set'] as { elem?: unknown[] } | undefined;
  const text = (e: unknown): string => {
    if (typeof e === 'string') return e;
    const o = e as Record<string, unknown>;
    if (o['prefix']) {
      const p = o['prefix'] as { addr: string; len: number };
      return `${p.addr}/${p.len}`;
    }
    if (o['range']) return (o['range'] as string[]).join('-');
    if (o['elem']) return text((o['elem'] as { val: unknown }).val);
    return JSON.stringify(e);
  };
  return (s?.elem ?? []).map(text);
}

// The python side (after the prelude below): a request is one JSON line {id, code}; the code runs (exec) in one shared
// namespace, in its own thread; the value of `result` (or the error) goes back as one line.
const SERVER_PY = String.raw`
import traceback
G = globals()
out_lock = threading.Lock()
def reply(obj):
    with out_lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()
def handle(req):
    env = {"result": None}
    try:
        exec(req["code"], G, env)
        reply({"id": req["id"], "value": env.get("result")})
    except Exception as e:
        reply({"id": req["id"], "error": "".join(traceback.format_exception_only(type(e), e)).strip()})
reply({"id": 0, "value": "ready"})
for line in sys.stdin:
    if line.strip():
        threading.Thread(target=handle, args=(json.loads(line),), daemon=True).start()
`;

// Functions every workload shell has (plain sockets; scapy only when a test imports it).
const PRELUDE = String.raw`
import json, os, socket, struct, sys, threading, time, select, subprocess
LABEL = os.environ.get("HN_LABEL", "?")
raw_seen = []
frames = []
conns = {}

def _echo_tcp(c):
    try:
        while True:
            d = c.recv(4096)
            if not d: break
            c.sendall(LABEL.encode() + b":" + d)
    except OSError:
        pass
    finally:
        c.close()

def serve_tcp(port, family=socket.AF_INET6):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port)); s.listen(64)
    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=_echo_tcp, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()

def serve_udp(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    def loop():
        while True:
            d, a = s.recvfrom(4096)
            s.sendto(LABEL.encode() + b":" + d, a)
    threading.Thread(target=loop, daemon=True).start()

def serve_raw(proto):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
    def loop():
        while True:
            d, a = s.recvfrom(65535)
            ihl = (d[0] & 15) * 4
            raw_seen.append((proto, a[0], d[ihl:].decode(errors="replace")))
    threading.Thread(target=loop, daemon=True).start()

def send_raw(ip, proto, payload):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
    s.sendto(payload.encode(), (ip, 0)); s.close()

def _family(ip): return socket.AF_INET6 if ":" in ip else socket.AF_INET

def tcp_probe(ip, port, timeout, src=None):
    s = socket.socket(_family(ip), socket.SOCK_STREAM); s.settimeout(timeout)
    try:
        if src: s.bind((src, 0))
        s.connect((ip, port)); s.sendall(b"probe")
        d = s.recv(4096)
        return d.decode() if d else "closed"
    except socket.timeout: return "timeout"
    except ConnectionRefusedError: return "refused"
    except OSError as e: return "error:" + str(e)
    finally: s.close()

def udp_probe(ip, port, timeout):
    s = socket.socket(_family(ip), socket.SOCK_DGRAM); s.settimeout(timeout)
    try:
        s.sendto(b"probe", (ip, port))
        d, _ = s.recvfrom(4096)
        return d.decode()
    except socket.timeout: return "timeout"
    except OSError as e: return "error:" + str(e)
    finally: s.close()

def conn_open(key, ip, port, timeout=3):
    s = socket.socket(_family(ip), socket.SOCK_STREAM); s.settimeout(timeout)
    s.connect((ip, port)); conns[key] = s
    return conn_send(key, "open")

def conn_send(key, text):
    s = conns[key]
    s.sendall(text.encode())
    try: return s.recv(4096).decode()
    except socket.timeout: return "timeout"

def load_scapy():
    import scapy.all as scapy_all
    globals().update({k: getattr(scapy_all, k) for k in dir(scapy_all) if not k.startswith("_")})

def sniff_start(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((ifname, 0))
    def loop():
        while True:
            d, a = s.recvfrom(65535)
            if a[2] != socket.PACKET_OUTGOING: frames.append(d)
    threading.Thread(target=loop, daemon=True).start()

def sniffed(hex_needle):
    n = bytes.fromhex(hex_needle)
    return any(n in f for f in list(frames))
`;

const serverSource = `${PRELUDE}\n${SERVER_PY}`;

/** A python process inside a namespace that runs the code it is sent. */
export class PyShell {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private stderr = '';
  private readonly ready: Promise<unknown>;

  private constructor(readonly netns: string, readonly label: string, private readonly proc: ResultPromise) {
    this.ready = new Promise((resolve, reject) => this.waiting.set(0, { resolve, reject }));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let msg: { id: number; value?: unknown; error?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      if (msg.error !== undefined) w.reject(new Error(`python in ${label} (${netns}): ${msg.error}`));
      else w.resolve(msg.value);
    });
    proc.stderr?.on('data', (d: Buffer) => {
      if (this.stderr.length < 20_000) this.stderr += d.toString();
    });
    void proc.then(() => {
      for (const w of this.waiting.values()) w.reject(new Error(`python in ${label} (${netns}) exited: ${this.stderr.slice(-2000)}`));
      this.waiting.clear();
    });
  }

  static async start(netns: string, label: string): Promise<PyShell> {
    const proc = execa('ip', ['netns', 'exec', netns, PYTHON, '-u', '-c', serverSource], {
      reject: false, buffer: false, stdin: 'pipe', env: { HN_LABEL: label },
    });
    const sh = new PyShell(netns, label, proc);
    await sh.ready;
    return sh;
  }

  /** Runs python `code` (it may set `result`); resolves with `result`. */
  run<T = unknown>(code: string): Promise<T> {
    const id = this.next++;
    const p = new Promise<T>((resolve, reject) => this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject }));
    this.proc.stdin!.write(`${JSON.stringify({ id, code })}\n`);
    return p;
  }

  /** The value of one python expression. */
  eval<T = unknown>(expr: string): Promise<T> {
    return this.run<T>(`result = ${expr}`);
  }

  async close(): Promise<void> {
    this.proc.kill('SIGKILL');
    await this.proc;
  }
}

/** Python string literal. */
export const py = (s: string): string => JSON.stringify(s);

/** Bytes as the hex text `sniffed()` looks for. */
export const hex = (s: string): string => Buffer.from(s).toString('hex');

/** A MAC address's six bytes as hex. */
export const macHex = (mac: string): string => mac.split(':').join('').toLowerCase();

/** An IPv4 address's four bytes as hex. */
export const ipv4Hex = (ip: string): string => ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('');

/** `ping` from `netns` to `ip`: true when an answer came. */
export async function ping(netns: string, ip: string, opts: { count?: number; waitS?: number; source?: string } = {}): Promise<boolean> {
  const args = ['netns', 'exec', netns, 'ping', '-n', '-q', '-c', String(opts.count ?? 1), '-W', String(opts.waitS ?? 1), '-i', '0.2'];
  if (ip.includes(':')) args.push('-6');
  if (opts.source) args.push('-I', opts.source);
  args.push(ip);
  return (await execa('ip', args, { reject: false })).exitCode === 0;
}

/** Runs a command in a namespace, failing with its output when it fails. */
export async function inNetns(netns: string, cmd: string[]): Promise<string> {
  const r = await execa('ip', ['netns', 'exec', netns, ...cmd], { reject: false, all: true });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(' ')} in ${netns}: exit ${r.exitCode}: ${r.all}`);
  return r.stdout;
}
