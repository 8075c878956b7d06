// The agent's one-line status for systemd (sd_notify STATUS=, shown by `systemctl status`):
// what the last pass converged to, so an admin sees the generation and any problems at once.
import type { DesiredState } from './api/gen/hostnet/v1/resources.js';
import type { PassResult } from './reconcile/reconciler.js';

const count = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;

/** e.g. "reconciled generation 3: 2 networks, 5 attachments, 0 problems". */
export function statusLine(pass: Pick<PassResult, 'generation' | 'problems'>, desired: Pick<DesiredState, 'networks' | 'attachments'>): string {
  return `reconciled generation ${pass.generation}: ${count(desired.networks.length, 'network')}, ` +
    `${count(desired.attachments.length, 'attachment')}, ${count(pass.problems.length, 'problem')}`;
}
