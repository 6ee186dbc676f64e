// The guest queue at one doorbell: producer and consumer positions (Doorbells in trace-model.ts),
// what each slot held when the guest wrote PROD, and the ring drawn at a given width.

import { between, published, ringIndex, step } from '../../../formats/ring.js';
import { doorbellAtOrAfter, kindName, NONE, ringPeriod, type TraceModel } from './trace-model.js';

export interface QueueAt {
  /** Doorbell index and its trace row. */
  readonly index: number;
  readonly row: number;
  /** Positions on the ring of 2 x entries (wrap * entries + slot). */
  readonly prevProd: number;
  readonly prod: number;
  readonly consBefore: number;
  readonly consAfter: number;
  readonly stopped: boolean;
  /** Entries this doorbell published (prevProd to prod). */
  readonly published: number;
  /** Entries between CONS and PROD when the guest wrote PROD. */
  readonly outstanding: number;
}

export function queueAt(m: TraceModel, index: number): QueueAt {
  const d = m.doorbells;
  const period = ringPeriod(m);
  const prod = d.prod[index]!,
    prevProd = d.prevProd[index]!,
    consBefore = d.consBefore[index]!;
  return {
    index,
    row: d.row[index]!,
    prevProd,
    prod,
    consBefore,
    consAfter: d.consAfter[index]!,
    stopped: d.stopped[index] === 1,
    published: published(prevProd, prod, period),
    outstanding: published(consBefore, prod, period),
  };
}

/** The doorbell a row belongs to: itself, or the first one after it (the one that publishes it). */
export function doorbellOfRow(m: TraceModel, row: number): number {
  const i = doorbellAtOrAfter(m, row);
  return i >= 0 ? i : m.doorbells.count - 1;
}

/**
 * The trace row last written at each of `slots` before `row` (-1 when none), scanning backwards
 * until every slot is found or a whole ring's worth of commands twice over has passed.
 */
export function slotRows(m: TraceModel, row: number, slots: readonly number[]): Int32Array {
  const out = new Int32Array(slots.length).fill(-1);
  const want = new Map<number, number[]>();
  slots.forEach((s, i) => want.set(s, [...(want.get(s) ?? []), i]));
  let left = want.size;
  let budget = 2 * m.entries;
  for (let r = row - 1; r >= 0 && left > 0 && budget > 0; r--) {
    const s = m.slot[r]!;
    if (s === NONE || kindName(m, r) !== 'cmd') continue;
    budget--;
    const idx = want.get(s);
    if (idx === undefined) continue;
    for (const i of idx) out[i] = r;
    want.delete(s);
    left--;
  }
  return out;
}

/** What a cell of the ring bar shows. */
export type Cell = 'free' | 'outstanding' | 'published' | 'cons' | 'prod' | 'both';

/**
 * The ring in `width` cells, slot 0 on the left: each cell covers entries/width slots (or a slot
 * covers several cells on a small ring). Published = the entries this doorbell added; outstanding
 * = entries before them the consumer had not reached; CONS and PROD mark their cells.
 */
export function ringCells(m: TraceModel, q: QueueAt, width: number): Cell[] {
  const E = m.entries;
  const period = ringPeriod(m);
  const cells: Cell[] = [];
  const cs = ringIndex(q.consBefore, E),
    ps = ringIndex(q.prod, E);
  for (let c = 0; c < width; c++) {
    const lo = Math.floor((c * E) / width);
    const hi = Math.max(lo + 1, Math.floor(((c + 1) * E) / width));
    const hasCons = cs >= lo && cs < hi,
      hasProd = ps >= lo && ps < hi;
    if (hasCons && hasProd) cells.push('both');
    else if (hasCons) cells.push('cons');
    else if (hasProd) cells.push('prod');
    else {
      let kind: Cell = 'free';
      for (let s = lo; s < hi && kind !== 'published'; s++) {
        // A slot index means the position of that slot in the lap between CONS and PROD.
        const p = step(q.consBefore, published(cs, s, E), period);
        if (between(p, q.prevProd, q.prod, period)) kind = 'published';
        else if (between(p, q.consBefore, q.prevProd, period)) kind = 'outstanding';
      }
      cells.push(kind);
    }
  }
  return cells;
}
