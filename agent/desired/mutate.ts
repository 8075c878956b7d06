// Pure edits of the desired state behind the single-resource RPCs (UpsertNetwork,
// DeleteNetwork, UpsertAttachment, DeleteAttachment): each returns a new state with the
// generation bumped by one; the caller validates it (validateDesiredState with the stored
// state as `previous`) and stores it, or refuses the call and changes nothing.
import { DesiredState, type Attachment, type Network } from '../api/gen/hostnet/v1/resources.js';

export class MutationError extends Error {
  override readonly name = 'MutationError';
  constructor(
    /** 'not-found' -> NOT_FOUND, 'generation-mismatch' and 'in-use' -> FAILED_PRECONDITION. */
    readonly code: 'not-found' | 'generation-mismatch' | 'in-use',
    message: string,
  ) {
    super(message);
  }
}

/** Refuses when the caller's expected generation is not the stored one (optimistic concurrency). */
export function checkExpectedGeneration(current: DesiredState, expected: number | undefined): void {
  if (expected !== undefined && expected !== current.generation) {
    throw new MutationError('generation-mismatch', `expected generation ${expected}, but the stored generation is ${current.generation}`);
  }
}

function next(current: DesiredState, networks: Network[], attachments: Attachment[]): DesiredState {
  return DesiredState.fromPartial({ generation: current.generation + 1, networks, attachments });
}

/** Adds the network, or replaces the one with the same name in place. */
export function upsertNetwork(current: DesiredState, network: Network): DesiredState {
  const i = current.networks.findIndex((n) => n.name === network.name);
  const networks = [...current.networks];
  if (i >= 0) networks[i] = network;
  else networks.push(network);
  return next(current, networks, current.attachments);
}

/** Removes the network; with `cascade` also its attachments, otherwise refuses while it has any. */
export function deleteNetwork(current: DesiredState, name: string, cascade = false): DesiredState {
  if (!current.networks.some((n) => n.name === name)) throw new MutationError('not-found', `network "${name}" does not exist`);
  const users = current.attachments.filter((a) => a.network === name).map((a) => a.name);
  if (users.length > 0 && !cascade) {
    throw new MutationError('in-use', `network "${name}" still has attachments (${users.join(', ')}); delete them first or use cascade`);
  }
  return next(current, current.networks.filter((n) => n.name !== name), current.attachments.filter((a) => a.network !== name));
}

/** Adds the attachment, or replaces the one with the same name in place. */
export function upsertAttachment(current: DesiredState, attachment: Attachment): DesiredState {
  const i = current.attachments.findIndex((a) => a.name === attachment.name);
  const attachments = [...current.attachments];
  if (i >= 0) attachments[i] = attachment;
  else attachments.push(attachment);
  return next(current, current.networks, attachments);
}

export function deleteAttachment(current: DesiredState, name: string): DesiredState {
  if (!current.attachments.some((a) => a.name === name)) throw new MutationError('not-found', `attachment "${name}" does not exist`);
  return next(current, current.networks, current.attachments.filter((a) => a.name !== name));
}
