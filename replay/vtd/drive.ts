// Drives a canonical trace straight through a VT-d unit, no policy: command rows are written into
// the ring in guest memory, doorbells write IQT, acks clear FSTS, injected device faults set the
// device-TLB time-out. What the differential test and bench/vtd.bench.ts replay with.

import { resolveTopology } from '../topology.js';
import type { OpenTrace } from '../../formats/trace/io.js';
import { viewBatch } from '../../formats/trace/view.js';
import { GuestMemory } from '../memory.js';
import type { ConsumerState, EventSink } from '../unit.js';
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
  const words = h.desc_bytes === 32 ? 4 : 2;
  let commands = 0;
  let doorbells = 0;
  let acks = 0;
  const t0 = process.hrtime.bigint();
  for await (const b of t.batches()) {
    const v = viewBatch(b);
    const sid = b.getChild('sid');
    for (let i = 0; i < v.length; i++) {
      switch (v.kindOf(i)) {
        case 'cmd':
          mem.writeWords(base + BigInt(v.slot.values[i]! * h.desc_bytes), v.words(i, words));
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
          unit.setAtcTimeout(Number(sid?.get(i) ?? 0), v.kindOf(i) === 'atc_timeout');
          break;
      }
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { unit, consumer: unit.consumer(), commands, doorbells, acks, seconds };
}
