// hostnet.v1.Cni's requests and answers (proto/hostnet/v1/cni.proto) in and out of bytes. The
// types are the generated ones (type-only imports: nothing of the generated modules, which load
// @grpc/grpc-js, is loaded at run time); answers are read only as far as the plugin needs.
import type {
  CniAddRequest, CniAddResponse, CniCheckRequest, CniDelRequest, CniDelResponse, CniDns, CniGcRequest,
  CniGcResponse, CniInterfaceRef, CniStatusRequest, CniStatusResponse,
} from '../api/gen/hostnet/v1/cni.js';
import type { AttachmentAddress, AttachmentStatus, RouteStatus } from '../api/gen/hostnet/v1/status.js';
import { fields, ProtoWriter, text } from './proto.js';

// ---- requests

function ref(r: CniInterfaceRef | undefined): ProtoWriter {
  return new ProtoWriter().string(1, r?.containerId ?? '').string(2, r?.ifName ?? '');
}

export function encodeAdd(m: CniAddRequest): Uint8Array {
  return new ProtoWriter().message(1, ref(m.ref)).string(2, m.netns).string(3, m.network).string(4, m.cniNetwork)
    .strings(5, m.ips).string(6, m.mac).finish();
}

export function encodeDel(m: CniDelRequest): Uint8Array {
  return new ProtoWriter().message(1, ref(m.ref)).string(2, m.network).finish();
}

export function encodeCheck(m: CniCheckRequest): Uint8Array {
  return new ProtoWriter().message(1, ref(m.ref)).string(2, m.netns).string(3, m.network).finish();
}

export function encodeGc(m: CniGcRequest): Uint8Array {
  const w = new ProtoWriter().string(1, m.cniNetwork);
  for (const v of m.valid) w.message(2, ref(v));
  return w.finish();
}

export function encodeStatus(m: CniStatusRequest): Uint8Array {
  return new ProtoWriter().string(1, m.network).finish();
}

// ---- answers

/** What the plugin reads of an AttachmentStatus (conditions and port security are skipped). */
export type CniAttachment = Pick<AttachmentStatus,
  'name' | 'network' | 'ifName' | 'ifindex' | 'mac' | 'ip' | 'gateway' | 'vlanId' | 'workloadIfName' | 'containerId' | 'mtu'> & {
  addresses: Pick<AttachmentAddress, 'ip' | 'prefixLength' | 'network' | 'assigned'>[];
  routes: RouteStatus[];
};

export type CniAddAnswer = Omit<CniAddResponse, 'attachment'> & { attachment: CniAttachment | undefined };

function decodeAddress(b: Uint8Array): CniAttachment['addresses'][number] {
  const a = { ip: '', prefixLength: 0, network: '', assigned: false };
  for (const f of fields(b)) {
    if (f.field === 1) a.ip = text(f.bytes);
    else if (f.field === 2) a.prefixLength = f.num;
    else if (f.field === 3) a.network = text(f.bytes);
    else if (f.field === 5) a.assigned = f.num !== 0;
  }
  return a;
}

function decodeRoute(b: Uint8Array): RouteStatus {
  const r = { destination: '', via: '' };
  for (const f of fields(b)) {
    if (f.field === 1) r.destination = text(f.bytes);
    else if (f.field === 2) r.via = text(f.bytes);
  }
  return r;
}

export function decodeAttachment(b: Uint8Array): CniAttachment {
  const a: CniAttachment = {
    name: '', network: '', ifName: '', ifindex: 0, mac: '', ip: '', addresses: [], gateway: '', routes: [],
    vlanId: 0, workloadIfName: '', containerId: '', mtu: 0,
  };
  for (const f of fields(b)) {
    switch (f.field) {
      case 1: a.name = text(f.bytes); break;
      case 2: a.network = text(f.bytes); break;
      case 3: a.ifName = text(f.bytes); break;
      case 4: a.ifindex = f.num; break;
      case 5: a.mac = text(f.bytes); break;
      case 6: a.ip = text(f.bytes); break;
      case 9: a.addresses.push(decodeAddress(f.bytes)); break;
      case 10: a.gateway = text(f.bytes); break;
      case 11: a.routes.push(decodeRoute(f.bytes)); break;
      case 12: a.vlanId = f.num; break;
      case 13: a.workloadIfName = text(f.bytes); break;
      case 14: a.containerId = text(f.bytes); break;
      case 15: a.mtu = f.num; break;
      default: break; // conditions (7), port security (8): not the plugin's business
    }
  }
  return a;
}

function decodeDns(b: Uint8Array): CniDns {
  const d: CniDns = { nameservers: [], domain: '', search: [] };
  for (const f of fields(b)) {
    if (f.field === 1) d.nameservers.push(text(f.bytes));
    else if (f.field === 2) d.domain = text(f.bytes);
    else if (f.field === 3) d.search.push(text(f.bytes));
  }
  return d;
}

export function decodeAddAnswer(b: Uint8Array): CniAddAnswer {
  const r: CniAddAnswer = { attachment: undefined, hostIfName: '', hostMac: '', dns: undefined };
  for (const f of fields(b)) {
    if (f.field === 1) r.attachment = decodeAttachment(f.bytes);
    else if (f.field === 2) r.hostIfName = text(f.bytes);
    else if (f.field === 3) r.hostMac = text(f.bytes);
    else if (f.field === 4) r.dns = decodeDns(f.bytes);
  }
  return r;
}

export function decodeCheckAnswer(b: Uint8Array): { attachment: CniAttachment | undefined } {
  let attachment: CniAttachment | undefined;
  for (const f of fields(b)) if (f.field === 1) attachment = decodeAttachment(f.bytes);
  return { attachment };
}

export function decodeDelAnswer(b: Uint8Array): CniDelResponse {
  let removed = false;
  for (const f of fields(b)) if (f.field === 1) removed = f.num !== 0;
  return { removed };
}

export function decodeGcAnswer(b: Uint8Array): CniGcResponse {
  const removed: string[] = [];
  for (const f of fields(b)) if (f.field === 1) removed.push(text(f.bytes));
  return { removed };
}

export function decodeStatusAnswer(b: Uint8Array): CniStatusResponse {
  const r: CniStatusResponse = { ready: false, message: '' };
  for (const f of fields(b)) {
    if (f.field === 1) r.ready = f.num !== 0;
    else if (f.field === 2) r.message = text(f.bytes);
  }
  return r;
}
