// A pair's QEMU waits, doorbells and acks are kept as numbers (qemu-items.ts) and handed on when the
// aligner's output reaches an item's position. Replayed into EventRows, they must be the objects
// EventRows makes of the same calls, in the same order around the alignable commands, however far
// the replay lags behind the reading: the buffer both grows (a long lag, as when the aligner looks
// 64 K commands ahead for the guest's first one) and drops what was replayed (a short lag).
import { describe, expect, it } from 'vitest';
import type { CaptureEvent, GeometryEvent } from '../capture/events.js';
import { EventRows, NO_WRAP, type QueueRows } from '../capture/queue-rows.js';
import { Stamp } from '../capture/stamp.js';
import { QemuVtdItems } from './qemu-items.js';

const FILE = 'qemu.log';
/** qw0 low halves: a wait (type 5, spec/vtd.md §2) and an IOTLB invalidation (type 2). */
const WAIT = 0x5;
const IOTLB = 0x2;

/** The calls of a made-up QEMU side: per step an IOTLB command, its wait, a doorbell; acks and a geometry now and then. */
function feed(rows: QueueRows, steps: number, between?: (k: number) => void): void {
  const t = new Stamp();
  for (let k = 0; k < steps; k++) {
    // Times above 2^32 ns and some lines without a time or a thread id.
    t.set(k % 7 === 0 ? undefined : 1000 + (k % 3), k % 11 !== 0, k >>> 4, (k * 7919) >>> 0);
    const slot = (2 * k) % 256;
    const wrap = ((2 * k) >> 8) & 1;
    rows.command(slot, k % 13 === 0 ? NO_WRAP : wrap, k, IOTLB | (k << 4), 0, k + 1, FILE, 4 * k + 1, t, undefined);
    rows.command(slot + 1, wrap, 0, WAIT | 0x20, 0x1234, 0x5678, FILE, 4 * k + 2, t, undefined);
    rows.doorbell(slot + 2, wrap, FILE, 4 * k + 3, t);
    if (k % 97 === 0) rows.ack(FILE, 4 * k + 4, t);
    if (k === 1500) {
      const g: GeometryEvent = {
        kind: 'geometry',
        entries: 256,
        descBytes: 32,
        from: 'vtd_inv_qi_setup',
        at: { file: FILE, line: 4 * k + 4 },
      };
      rows.queueGeometry(g);
    }
    between?.(k);
  }
}

/** The events in output order: each item's kept events (replayed) then its command, as the aligner hands them on. */
function replayed(steps: number, lag: number): CaptureEvent[] {
  const items = new QemuVtdItems();
  const rows = new EventRows();
  const out: CaptureEvent[] = [];
  const pending: ReturnType<QemuVtdItems['takeItems']> = [];
  const drain = (keep: number) => {
    while (pending.length > keep) {
      const it = pending.shift()!;
      items.replay(it.pre as number, rows);
      out.push(...rows.take());
      if (it.cmd !== undefined) out.push(it.cmd);
    }
  };
  feed(items, steps, () => {
    pending.push(...items.takeItems());
    drain(lag);
  });
  pending.push(...items.takeItems(), ...items.rest());
  drain(0);
  return out;
}

describe('QemuVtdItems', () => {
  // 3,000 steps: ~6,000 kept events, past the buffer's first 1,024.
  const expected = (() => {
    const r = new EventRows();
    feed(r, 3000);
    return r.take();
  })();

  it.each([0, 1, 5, 2999])('replays the kept events in order with a lag of %i items', (lag) => {
    const got = replayed(3000, lag);
    expect(got.length).toBe(expected.length);
    expect(got).toEqual(expected);
  });

  it('gives only alignable commands as items, and nothing after the last one unless events follow it', () => {
    const items = new QemuVtdItems();
    feed(items, 3);
    const its = items.takeItems();
    // 3 IOTLB commands align; the waits, doorbells and the ack (step 0) are kept: 3 + 3 + 1 = 7.
    expect(its.map((i) => i.pre)).toEqual([0, 3, 5]);
    expect(its.every((i) => i.cmd?.kind === 'cmd')).toBe(true);
    expect(items.rest()).toEqual([{ pre: 7, cmd: undefined }]);
    expect(items.rest()).toEqual([]);
  });
});
