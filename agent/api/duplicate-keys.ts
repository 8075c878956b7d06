// Keys given twice in one mapping. JSON.parse keeps the last value silently (an
// `"attachments": []` after the real list deleted every attachment), so both YAML and JSON
// documents are checked, each problem naming the key's path.
import YAML, { type Node } from 'yaml';

const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);
const problem = (path: string): string => `${path}: key given twice in one mapping (a second value would silently replace the first)`;

/** Duplicate keys of a JSON text that JSON.parse has already accepted (so its syntax is valid). */
export function jsonDuplicateKeys(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  // An explicit stack, not recursion: a deeply nested document must not overflow ours.
  type Frame = { kind: 'object'; path: string; keys: Set<string> } | { kind: 'array'; path: string; n: number };
  const stack: Frame[] = [];
  let path = '';
  for (;;) {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      i++;
      ws();
      if (text[i] === '}' || text[i] === ']') i++;
      else {
        stack.push(c === '{' ? { kind: 'object', path, keys: new Set() } : { kind: 'array', path, n: 0 });
        if (c === '[') path = `${path}[0]`;
        else {
          ws();
          path = keyOf(stack[stack.length - 1]!);
        }
        continue;
      }
    } else if (c === '"') str();
    else while (i < text.length && !',]} \t\n\r'.includes(text[i]!)) i++;
    // After a value: the next element, or close containers.
    for (;;) {
      const top = stack[stack.length - 1];
      if (!top) return out;
      ws();
      const sep = text[i++];
      if (sep === ',') {
        ws();
        path = top.kind === 'array' ? `${top.path}[${++top.n}]` : keyOf(top);
        break;
      }
      stack.pop();
    }
  }

  function keyOf(frame: Frame): string {
    const key = str();
    ws();
    i++; // ':'
    const here = join(frame.path, key);
    if (frame.kind === 'object') {
      if (frame.keys.has(key)) out.push(problem(here));
      frame.keys.add(key);
    }
    return here;
  }
}

/** Duplicate keys of a YAML document parsed with uniqueKeys: false. */
export function yamlDuplicateKeys(doc: YAML.Document): string[] {
  const out: string[] = [];
  const walk = (node: unknown, path: string, depth: number): void => {
    if (depth > 64) return; // the shape check refuses anything this deep anyway
    if (YAML.isMap(node)) {
      const keys = new Set<string>();
      for (const pair of node.items) {
        const key = YAML.isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const here = join(path, key);
        if (keys.has(key)) out.push(problem(here));
        keys.add(key);
        walk(pair.value, here, depth + 1);
      }
    } else if (YAML.isSeq(node)) {
      node.items.forEach((item, n) => walk(item, `${path}[${n}]`, depth + 1));
    }
  };
  walk(doc.contents as Node | null, '', 0);
  return out;
}
