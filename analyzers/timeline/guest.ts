// What the timeline needs of a trace: the guest's doorbells and error acknowledgements (the events
// a policy's work hangs off), the completion points (CMD_SYNC / wait descriptors) with the
// doorbell that published each, and, for placing a finding, the event that published each
// command. Read once, batch by batch, into plain arrays.

import type { RecordBatch } from 'apache-arrow';
import type { OpenTrace } from '../../formats/trace/io.js';

export interface GuestEvent {
  readonly seq: number;
  readonly kind: 'doorbell' | 'ack';
  /** The producer index a doorbell writes (null for an ack). */
  readonly slot: number | null;
  readonly wrap: number | null;
  /** Commands it published. */
  readonly entries: number;
}

export interface CompletionPoint {
  readonly seq: number;
  readonly slot: number | null;
  readonly op: string;
  /** The doorbell that published it (undefined: never published). */
  readonly doorbell: number | undefined;
}

export interface GuestTimeline {
  readonly arch: string;
  readonly file: string;
  readonly events: readonly GuestEvent[];
  readonly completions: readonly CompletionPoint[];
}

export async function readGuest(trace: OpenTrace): Promise<GuestTimeline> {
  const events: GuestEvent[] = [];
  const completions: CompletionPoint[] = [];
  let pending: { seq: number; slot: number | null; op: string }[] = [];
  let commands = 0;
  const add = (b: RecordBatch) => {
    const col = (n: string) => b.getChild(n);
    const [seq, kind, slot, wrap, op, role] = ['seq', 'kind', 'slot', 'wrap', 'op', 'role'].map(col);
    for (let r = 0; r < b.numRows; r++) {
      const k = kind!.get(r) as string;
      const s = seq!.get(r) as number;
      if (k === 'cmd') {
        commands++;
        if (role?.get(r) === 'sync')
          pending.push({ seq: s, slot: (slot!.get(r) as number | null) ?? null, op: (op?.get(r) as string | null) ?? 'sync' });
      } else if (k === 'doorbell' || k === 'ack') {
        events.push({
          seq: s,
          kind: k,
          slot: k === 'doorbell' ? ((slot!.get(r) as number | null) ?? null) : null,
          wrap: k === 'doorbell' ? ((wrap!.get(r) as number | null) ?? null) : null,
          entries: k === 'doorbell' ? commands : 0,
        });
        if (k === 'doorbell') {
          for (const p of pending) completions.push({ ...p, doorbell: s });
          pending = [];
          commands = 0;
        }
      }
    }
  };
  for await (const b of trace.batches()) add(b);
  for (const p of pending) completions.push({ ...p, doorbell: undefined });
  return { arch: trace.header.arch, file: trace.path, events, completions };
}

/** The guest event (doorbell or ack) at or after `seq`: the one that published a command. */
export function eventAtOrAfter(events: readonly GuestEvent[], seq: number): GuestEvent | undefined {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (events[mid]!.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return events[lo];
}
