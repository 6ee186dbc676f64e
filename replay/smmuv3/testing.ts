// Test plumbing for the SMMUv3 emulator: command encoding by spec field names and a guest queue
// in guest memory that a test fills and publishes like a driver does. Used by the tests beside
// this file and by bench/smmuv3.bench.ts; nothing here is mocked.

import type { OpenTrace } from '../../formats/trace/io.js';
import { feedTrace, queueBase } from '../feed.js';
import { GuestMemory } from '../memory.js';
import type { ConsumerState, UnitEvent } from '../unit.js';
import { Smmuv3, type Smmuv3Options } from './emulator.js';
import type { Words } from './encode.js';
import { guestSmmu } from './index.js';

export { SYNC, cmd, type Words } from './encode.js';

export const QUEUE_BASE = 0x4000_0000n;

/** A guest queue on an emulator instance; `push` writes at PROD and rings the doorbell. */
export class GuestQueue {
  readonly mem = new GuestMemory();
  readonly unit: Smmuv3;
  readonly events: UnitEvent[] = [];
  readonly entries: number;
  /** Producer (wrap|index), as the driver keeps it. */
  prod = 0;

  constructor(log2size: number, opts: Omit<Smmuv3Options, 'events'> & { record?: boolean } = {}) {
    this.entries = 1 << log2size;
    this.mem.addRegion(QUEUE_BASE, this.entries * 16);
    const record = opts.record ?? true;
    this.unit = new Smmuv3(this.mem, { ...opts, ...(record ? { events: (e: UnitEvent) => this.events.push(e) } : {}) });
    this.unit.configureQueue(QUEUE_BASE, this.entries, 16);
  }

  slotAddr(index: number): bigint {
    return QUEUE_BASE + BigInt(index * 16);
  }

  /** Writes `words` into a slot without publishing (what Linux's skip routine does). */
  write(index: number, words: Words): void {
    this.mem.writeWords(this.slotAddr(index), words);
  }

  /** Writes the commands at PROD and publishes them with one CMDQ_PROD write. */
  push(...cmds: readonly Words[]): void {
    for (const c of cmds) this.place(c);
    this.doorbell();
  }

  /** Writes one command at PROD without publishing it. */
  place(c: Words): void {
    this.write(this.prod & (this.entries - 1), c);
    this.prod = (this.prod + 1) & (this.entries * 2 - 1);
  }

  doorbell(): void {
    this.unit.writeReg(0x98, BigInt(this.prod));
  }

  /** CMDQ_CONS index and wrap as the guest reads them. */
  cons(): { index: number; wrap: number; err: number } {
    const c = this.unit.CMDQ_CONS;
    const n = Math.log2(this.entries);
    return { index: c & (this.entries - 1), wrap: (c >>> n) & 1, err: (c >>> 24) & 0x7f };
  }

  kinds(): string[] {
    return this.events.map((e) => (e.kind === 'exec' ? `exec:${e.name}` : e.kind));
  }
}

export interface ReplayOutcome {
  readonly events: readonly UnitEvent[];
  readonly consumer: ConsumerState;
  /** Commands that took effect. */
  readonly executed: number;
  /** Command rows in the trace. */
  readonly commands: number;
  readonly doorbells: number;
  /** Wall time of the replay loop alone (trace reading included), seconds. */
  readonly seconds: number;
}

/**
 * Replays a canonical trace straight through a guest unit (no policy): command rows are written
 * into the ring in guest memory, doorbells write CMDQ_PROD, acks write GERRORN, injected device
 * faults set the ATC time-out.
 */
export async function replayTrace(t: OpenTrace, opts: Omit<Smmuv3Options, 'events'> & { record?: boolean } = {}): Promise<ReplayOutcome> {
  const h = t.header;
  const base = queueBase(h);
  const mem = new GuestMemory();
  mem.addRegion(base, h.queue_entries * 16);
  const events: UnitEvent[] = [];
  const unit = guestSmmu(h.topology ?? { iommus: [{ id: 0, vmid: 1 }], devices: [] }, mem, {
    ...opts,
    ...(opts.record === false ? {} : { events: (e: UnitEvent) => events.push(e) }),
  });
  unit.configureQueue(base, h.queue_entries, 16, h.start ?? 0);
  const t0 = process.hrtime.bigint();
  const { commands, doorbells } = await feedTrace(t, unit, mem, base);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { events, consumer: unit.consumer(), executed: unit.executed, commands, doorbells, seconds };
}
