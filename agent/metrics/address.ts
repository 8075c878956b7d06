// The metrics listen address, checked when the config is read (no prom-client needed there).

/** "HOST:PORT" or "[V6]:PORT" -> parts; throws with the address in the message. */
export function parseListenAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`address "${text}": expected HOST:PORT (e.g. 127.0.0.1:9475 or [::1]:9475)`);
  return { host: m[1] ?? m[2]!, port };
}
