// The gRPC face of NodeAgent: each handler turns its request into a NodeAgent call and every
// error into a status (see errors.ts).
import * as grpc from '@grpc/grpc-js';
import type { NodeAgentServer, WatchStatusResponse } from '../api/gen/hostnet/v1/agent.js';
import { ValidationError } from '../desired/validate.js';
import { deleteAttachment, deleteNetwork, upsertAttachment, upsertNetwork } from '../desired/mutate.js';
import type { ConditionTransition } from '../conditions/book.js';
import { resourceKindOf } from '../conditions/condition.js';
import type { ReconcileLogger } from '../reconcile/reconciler.js';
import { decodeProblem } from './decode.js';
import { toStatusError } from './errors.js';
import type { NodeAgent } from './node-agent.js';

/** Adapts a promise to a unary callback, logging what is refused or fails. */
export function unary<Req, Res>(op: string, log: ReconcileLogger | undefined, fn: (req: Req) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => {
        const problem = decodeProblem(call.request);
        if (problem) throw new ValidationError([problem]);
        return fn(call.request);
      })
      .then((res) => callback(null, res), (err: unknown) => {
        const e = toStatusError(err, op);
        if (e.code === grpc.status.INTERNAL) log?.error({ op, err: e.details }, 'call failed');
        else log?.info({ op, code: grpc.status[e.code], details: e.details }, 'call refused');
        callback({ code: e.code, details: e.details });
      });
  };
}

function missing(what: string): never {
  throw new ValidationError([{ path: what, rule: 'required', message: `${what} is required` }]);
}

const toWatch = (t: ConditionTransition): WatchStatusResponse => ({ resourceKind: resourceKindOf(t.kind), resourceName: t.name, condition: t.condition });

/** The service plus a way to end its open WatchStatus streams (on shutdown). */
export interface NodeAgentServiceHandle {
  implementation: NodeAgentServer;
  endStreams(): void;
}

export function nodeAgentService(agent: NodeAgent, log?: ReconcileLogger): NodeAgentServiceHandle {
  const streams = new Set<grpc.ServerWritableStream<unknown, WatchStatusResponse>>();
  const implementation: NodeAgentServer = {
    apply: unary('Apply', log, (req) => agent.apply(req.state ?? missing('state'), req.dryRun)),
    upsertNetwork: unary('UpsertNetwork', log, (req) => {
      const network = req.network ?? missing('network');
      return agent.change((s) => upsertNetwork(s, network), req.expectedGeneration, req.dryRun);
    }),
    deleteNetwork: unary('DeleteNetwork', log, (req) => agent.change((s) => deleteNetwork(s, req.name, req.cascade), req.expectedGeneration, req.dryRun)),
    upsertAttachment: unary('UpsertAttachment', log, (req) => {
      const attachment = req.attachment ?? missing('attachment');
      return agent.change((s) => upsertAttachment(s, attachment), req.expectedGeneration, req.dryRun);
    }),
    deleteAttachment: unary('DeleteAttachment', log, (req) => agent.change((s) => deleteAttachment(s, req.name), req.expectedGeneration, req.dryRun)),
    getState: unary('GetState', log, () => ({ state: agent.state })),
    getStatus: unary('GetStatus', log, () => agent.status()),
    listLeases: unary('ListLeases', log, (req) => ({ leases: agent.leases(req.network) })),
    listIpUsage: unary('ListIpUsage', log, async (req) => ({ networks: await agent.ipUsage(req.network) })),
    watchStatus: (call) => {
      const unsubscribe = agent.reconciler.subscribe((t) => call.write(toWatch(t)));
      if (call.request.sendInitial) for (const t of agent.reconciler.currentConditions()) call.write(toWatch(t));
      streams.add(call);
      const stop = (): void => {
        unsubscribe();
        streams.delete(call);
      };
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
    },
  };
  return {
    implementation,
    endStreams: () => {
      for (const call of streams) call.end();
      streams.clear();
    },
  };
}
