// Test scaffolding for the VT-d unit: descriptors built by the shared codec (formats/vtd/descriptors.ts),
// a guest queue in GuestMemory, and an event log. Used by the *.test.ts files beside it.

import { VTD } from '../../formats/codecs.js';
import { period, step } from '../../formats/ring.js';
import { unwrap } from '../../formats/result.js';
import { GuestMemory } from '../memory.js';
import type { UnitEvent } from '../unit.js';
import type { DeviceEntry } from './caches.js';
import { VtdUnit, type VtdUnitOptions } from './unit.js';

/** One descriptor's words from field values (2 words, or 4 for a 256-bit queue). */
export function desc(name: string, fields: Readonly<Record<string, bigint | number>> = {}, words: 2 | 4 = 2): bigint[] {
  return unwrap(VTD.encode(name, fields, words));
}

export const QUEUE_BASE = 0x2206000n;
export const STATUS_BASE = 0x1046000n;

export interface Rig {
  readonly mem: GuestMemory;
  readonly unit: VtdUnit;
  readonly events: UnitEvent[];
  readonly descBytes: 16 | 32;
  /** Writes descriptors at the current tail (wrapping) without ringing; returns their slots. */
  put(...descs: bigint[][]): number[];
  /** Writes the descriptors and rings the doorbell (IQT = the new tail). */
  submit(...descs: bigint[][]): number[];
  /** A status-write wait whose status word is STATUS_BASE + 4 * tag. */
  wait(tag: number, extra?: Readonly<Record<string, number>>): bigint[];
  status(tag: number): number | undefined;
  /** Overwrites one slot (what Linux does to the descriptor at IQH after IQE). */
  rewrite(slot: number, words: bigint[]): void;
  readonly tail: number;
  completed(): number[];
  aborted(): number[];
}

export function rig(
  opts: {
    entries?: number;
    descBytes?: 16 | 32;
    devices?: readonly (readonly [number, DeviceEntry])[];
    unit?: VtdUnitOptions;
  } = {},
): Rig {
  const entries = opts.entries ?? 256;
  const descBytes = opts.descBytes ?? 16;
  const mem = new GuestMemory();
  mem.addRegion(QUEUE_BASE, entries * descBytes);
  const events: UnitEvent[] = [];
  const unit = new VtdUnit(mem, { devices: opts.devices ?? DEVICES, events: (e) => events.push(e), ...opts.unit });
  unit.configureQueue(QUEUE_BASE, entries, descBytes);
  const words = descBytes === 32 ? 4 : 2;
  let tail = 0;
  const pad = (w: bigint[]) => (w.length < words ? [...w, ...new Array<bigint>(words - w.length).fill(0n)] : w);
  const r: Rig = {
    mem,
    unit,
    events,
    descBytes,
    put(...descs) {
      return descs.map((d) => {
        const slot = tail;
        mem.writeWords(QUEUE_BASE + BigInt(slot * descBytes), pad(d));
        tail = step(tail, 1, period(entries, false)); // IQT has no wrap bit: E positions
        return slot;
      });
    },
    submit(...descs) {
      const slots = r.put(...descs);
      unit.writeProducer(tail, 0);
      return slots;
    },
    wait(tag, extra = {}) {
      return desc('inv_wait', { SW: 1, STATUS_DATA: 2, STATUS_ADDR: STATUS_BASE + BigInt(4 * tag), ...extra }, words);
    },
    status: (tag) => mem.read32(STATUS_BASE + BigInt(4 * tag)),
    rewrite(slot, w) {
      mem.writeWords(QUEUE_BASE + BigInt(slot * descBytes), pad(w));
    },
    get tail() {
      return tail;
    },
    completed: () => events.flatMap((e) => (e.kind === 'complete' ? [e.slot] : [])),
    aborted: () => events.flatMap((e) => (e.kind === 'abort_wait' ? [e.slot] : [])),
  };
  return r;
}

/** Two devices like the captures' guest: virtio-blk 01:00.0 with ATS in DID 6, nvme 00:02.0 in DID 7. */
export const BLK = 0x100;
export const NVME = 0x10;
export const DEVICES: readonly (readonly [number, DeviceEntry])[] = [
  [BLK, { did: 6, ats: true }],
  [NVME, { did: 7, ats: false }],
];
