// Drives a canonical trace straight through a VT-d unit, no policy: command rows are written into
// the ring in guest memory, doorbells write IQT, acks clear FSTS, injected device faults set the
// device-TLB time-out. What the differential test replays with. `feedTrace` knows nothing of VT-d
// (any QueueUnit): a candidate for a shared replay/ module, which replay/smmuv3/testing.ts repeats.

import { unreachable } from '../../formats/result.js';
import { resolveTopology } from '../topology.js';
import type { OpenTrace } from '../../formats/trace/io.js';
import { viewBatch } from '../../formats/trace/view.js';
import { GuestMemory } from '../memory.js';
import type { ConsumerState, EventSink, QueueUnit } from '../unit.js';
import { guestDevices } from './index.js';
import { VtdUnit, type VtdUnitOptions } from './unit.js';

export interface DriveOptions extends Omit<VtdUnitOptions, 'devices' | 'events'> {
  readonly events?: EventSink;
  /** Guest memory to use (a test may record status writes); a fresh one by default. */
  readonly mem?: GuestMemory;
}

export interface DriveOutcome {
  readonly unit: VtdUnit;
  readonly consumer: ConsumerState;
  readonly commands: number;
  readonly doorbells: number;
  readonly acks: number;
  /** Wall time of the replay loop (trace reading included), seconds. */
  readonly seconds: number;
}

const DEFAULT_BASE = 0x2206000n;

export async function driveTrace(t: OpenTrace, opts: DriveOptions = {}): Promise<DriveOutcome> {
  const h = t.header;
  const bytes = h.queue_entries * h.desc_bytes;
  const recorded = h.queue_base !== undefined ? BigInt(h.queue_base) : undefined;
  const base = recorded !== undefined && recorded % 4096n === 0n ? recorded : DEFAULT_BASE;
  const mem = opts.mem ?? new GuestMemory();
  mem.addRegion(base, bytes);
  const { topology } = await resolveTopology(t);
  const { mem: _m, ...unitOpts } = opts;
  const unit = new VtdUnit(mem, { ...unitOpts, devices: guestDevices(topology), name: 'guest' });
  unit.configureQueue(base, h.queue_entries, h.desc_bytes);
  const t0 = process.hrtime.bigint();
  const counts = await feedTrace(t, unit, mem, base);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { unit, consumer: unit.consumer(), ...counts, seconds };
}

/** Every row of a trace into a configured unit whose ring sits at `base` in `mem`. */
export async function feedTrace(t: OpenTrace, unit: QueueUnit, mem: GuestMemory, base: bigint): Promise<{ commands: number; doorbells: number; acks: number }> {
  const slotBytes = t.header.desc_bytes;
  const words = slotBytes === 32 ? 4 : 2;
  let commands = 0;
  let doorbells = 0;
  let acks = 0;
  for await (const b of t.batches()) {
    const v = viewBatch(b);
    const sid = b.getChild('sid');
    for (let i = 0; i < v.length; i++) {
      const kind = v.kindOf(i);
      switch (kind) {
        case 'cmd':
          mem.writeWords(base + BigInt(v.slot.values[i]! * slotBytes), v.words(i, words));
          commands++;
          break;
        case 'doorbell':
          unit.writeProducer(v.slot.values[i]!, v.wrap.values[i]!);
          doorbells++;
          break;
        case 'ack':
          unit.acknowledge();
          acks++;
          break;
        case 'atc_timeout':
        case 'atc_recover':
          unit.setAtcTimeout(Number(sid?.get(i) ?? 0), kind === 'atc_timeout');
          break;
        default:
          unreachable(kind);
      }
    }
  }
  return { commands, doorbells, acks };
}
