// Walking a canonical trace's events, once for everyone: the replay engine, and the differential
// tests that drive one unit straight through a trace (no policy). Also where a replay puts the
// guest ring in memory.

import { InputFault, unreachable } from '../formats/result.js';
import type { TraceHeader } from '../formats/trace/header.js';
import { batchesReused, type OpenTrace } from '../formats/trace/io.js';
import { viewBatch } from '../formats/trace/view.js';
import type { GuestMemory } from './memory.js';
import type { QueueUnit } from './unit.js';

/** Each event with the guest queue it belongs to (`queue`: 0 in a one-queue trace). */
export interface TraceHandlers {
  /**
   * `halves`: the command's words as 32-bit halves, low half first (2 per word), in a buffer the
   * walk reuses for the next command: copy what is kept. `cause`: why the guest sent the
   * invalidation (map/unmap), when the trace says.
   */
  command(seq: number, slot: number, halves: Uint32Array, cause: 'map' | 'unmap' | undefined, queue: number): void;
  doorbell(seq: number, index: number, wrap: number, queue: number): void;
  ack(seq: number, queue: number): void;
  fault(seq: number, sid: number, timedOut: boolean): void;
}

export interface FeedCounts {
  readonly events: number;
  readonly commands: number;
  readonly doorbells: number;
  readonly acks: number;
}

/**
 * Every event of a trace, in order, to the handlers; `onBatch` after each batch. The batches are
 * read into reused memory (OpenTrace.reusingBatches): no handler is given anything of a batch's
 * memory (numbers, dictionary strings, and `halves`, this walk's own buffer), so none can keep it.
 */
export async function dispatchTrace(t: OpenTrace, h: TraceHandlers, onBatch?: (events: number) => void): Promise<FeedCounts> {
  const words = t.header.desc_bytes === 32 ? 4 : 2;
  const halves = new Uint32Array(2 * words);
  let events = 0;
  let commands = 0;
  let doorbells = 0;
  let acks = 0;
  for await (const b of batchesReused(t)) {
    const v = viewBatch(b);
    const sid = b.getChild('sid');
    for (let i = 0; i < v.length; i++) {
      const seq = v.seq[i]!;
      const kind = v.kindOf(i);
      switch (kind) {
        case 'cmd':
          v.halves(i, words, halves);
          h.command(seq, v.slot.values[i]!, halves, v.causeOf(i), v.queueOf(i));
          commands++;
          break;
        case 'doorbell':
          h.doorbell(seq, v.slot.values[i]!, v.wrap.values[i]!, v.queueOf(i));
          doorbells++;
          break;
        case 'ack':
          h.ack(seq, v.queueOf(i));
          acks++;
          break;
        case 'atc_timeout':
        case 'atc_recover':
          h.fault(seq, Number(sid?.get(i) ?? 0), kind === 'atc_timeout');
          break;
        default:
          unreachable(kind);
      }
      events++;
    }
    onBatch?.(events);
  }
  return { events, commands, doorbells, acks };
}

/** Default guest-physical base of a replayed ring (aligned for every queue size). */
export const DEFAULT_QUEUE_BASE = 0x4000_0000n;

/**
 * Physical addresses have at most 52 bits: an SMMUv3 queue base is PA[51:5] of CMDQ_BASE, a VT-d
 * one the host address width of IQA_REG (at most 52 on x86). Replay addresses guest memory as
 * numbers (exact below 2^53, replay/memory.ts), so a ring must end below this.
 */
export const PA_LIMIT = 1n << 52n;

/**
 * The ring's base: the recorded one when it is aligned to the queue's size and the ring ends below
 * PA_LIMIT, else the default.
 */
export function queueBase(h: Pick<TraceHeader, 'queue_base' | 'queue_entries' | 'desc_bytes'>): bigint {
  const bytes = BigInt(h.queue_entries * h.desc_bytes);
  const recorded = h.queue_base !== undefined ? BigInt(h.queue_base) : undefined;
  return recorded !== undefined && recorded % bytes === 0n && recorded + bytes <= PA_LIMIT ? recorded : DEFAULT_QUEUE_BASE;
}

/**
 * A trace straight into one configured unit whose ring sits at `base` in `mem` (no policy). One
 * unit has one queue: a trace with several is refused.
 */
export function feedTrace(t: OpenTrace, unit: QueueUnit, mem: GuestMemory, base: bigint): Promise<FeedCounts> {
  if (t.header.queues !== undefined && t.header.queues.length > 1) {
    throw new InputFault({
      file: t.path,
      message: `${t.header.queues.length} guest queues: one unit replays one queue (use replay, which gives each queue its own unit)`,
    });
  }
  const slotBytes = t.header.desc_bytes;
  return dispatchTrace(t, {
    command: (_seq, slot, halves) => void mem.writeHalvesAt(Number(base) + slot * slotBytes, halves),
    doorbell: (_seq, index, wrap) => unit.writeProducer(index, wrap),
    ack: () => unit.acknowledge(),
    fault: (_seq, sid, timedOut) => unit.setAtcTimeout(sid, timedOut),
  });
}
