// The loader's table of message shapes (agent/api/json-shape.ts) must say exactly what
// resources.proto says: read the proto itself with protobufjs (what @grpc/proto-loader uses)
// and compare field by field, so a new field cannot be refused as "unknown" by the CLI.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { MESSAGES, type FieldType, type MessageName } from '../../../agent/api/json-shape.js';

// keepCase: the proto's own (snake_case) names, which the JSON mapping also accepts.
const root = protobuf.parse(readFileSync(path.resolve(import.meta.dirname, '../../../proto/hostnet/v1/resources.proto'), 'utf8'), { keepCase: true }).root;

function typeText(t: FieldType): string {
  if (t.kind === 'message') return t.name;
  if (t.kind === 'enum') return t.name;
  return t.kind;
}

describe('message shapes of the JSON loader', () => {
  it('cover every message of resources.proto', () => {
    const ns = root.lookup('hostnet.v1') as protobuf.Namespace;
    const messages = ns.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type).map((t) => t.name).sort();
    expect(Object.keys(MESSAGES).sort()).toEqual(messages);
  });

  for (const name of Object.keys(MESSAGES) as MessageName[]) {
    it(`${name} has the proto's fields, types, lists and oneofs`, () => {
      const type = root.lookupType(`hostnet.v1.${name}`);
      const fromProto = type.fieldsArray.map((f) => ({
        proto: f.name, json: f.name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()), type: f.type, repeated: f.repeated,
        oneof: f.partOf && !f.partOf.name.startsWith('_') ? f.partOf.name : undefined,
      }));
      const ours = MESSAGES[name].map((f) => ({ proto: f.proto, json: f.json, type: typeText(f.type), repeated: f.repeated, oneof: f.oneof }));
      expect(ours).toEqual(fromProto);
    });
  }

  it('has the enum values of the proto', () => {
    const ipFamily = MESSAGES.Network.find((f) => f.json === 'ipFamily')!.type;
    expect(ipFamily.kind === 'enum' ? ipFamily.values : null).toEqual(root.lookupEnum('hostnet.v1.IpFamily').values);
  });
});
