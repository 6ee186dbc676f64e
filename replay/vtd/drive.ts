// Drives a canonical trace straight through a VT-d unit, no policy: command rows are written into
// the ring in guest memory, doorbells write IQT, acks clear FSTS, injected device faults set the
// device-TLB time-out (replay/feed.ts walks the trace). What the differential test replays with.

import { resolveTopology } from '../topology.js';
import type { OpenTrace } from '../../formats/trace/io.js';
import { feedTrace, queueBase } from '../feed.js';
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

export async function driveTrace(t: OpenTrace, opts: DriveOptions = {}): Promise<DriveOutcome> {
  const h = t.header;
  const base = queueBase(h);
  const mem = opts.mem ?? new GuestMemory();
  mem.addRegion(base, h.queue_entries * h.desc_bytes);
  const { topology } = await resolveTopology(t);
  const { mem: _m, ...unitOpts } = opts;
  const unit = new VtdUnit(mem, { ...unitOpts, devices: guestDevices(topology), name: 'guest' });
  unit.configureQueue(base, h.queue_entries, h.desc_bytes, h.start ?? 0);
  const t0 = process.hrtime.bigint();
  const counts = await feedTrace(t, unit, mem, base);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { unit, consumer: unit.consumer(), ...counts, seconds };
}
