// Bare hardware's thread for `replay` and `compare`, launched before the command loads the replay
// engine (replay/bare-launch.ts): its start-up (apache-arrow, the emulators) then overlaps the
// command's own instead of coming after it, when the policy runs already wait for its first facts.
// Only for one input that is a trace file, with the choice runReplay would make; the replay takes
// the thread when it reads that same file, and it is ended otherwise.

import { statSync } from 'node:fs';
import { launchBareEarly, type BareLaunch } from '../../replay/bare-launch.js';
import { splitPolicyList } from '../option-values.js';

export interface EarlyBare {
  readonly trace: string;
  readonly launch: BareLaunch;
}

/** The thread for a replay of `inputs`, if it will want one. */
export function bareEarly(
  inputs: readonly string[],
  opts: { readonly policy: string; readonly jobs?: number; readonly sharedHost?: boolean },
): EarlyBare | undefined {
  const trace = inputs[0];
  if (opts.sharedHost || inputs.length !== 1 || trace === undefined || !trace.endsWith('.arrow')) return undefined;
  try {
    if (!statSync(trace).isFile()) return undefined;
  } catch {
    return undefined; // the command reports it
  }
  const launch = launchBareEarly(trace, {
    policies: splitPolicyList(opts.policy),
    ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
  });
  return launch === undefined ? undefined : { trace, launch };
}

/** The early thread, for a replay of `trace`: undefined (and the thread ended) when it was launched for another file. */
export function bareFor(early: EarlyBare | undefined, trace: string): BareLaunch | undefined {
  if (early === undefined || early.trace === trace) return early?.launch;
  early.launch.stop();
  return undefined;
}
