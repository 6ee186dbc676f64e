// A pair's QEMU events are kept as numbers (qemu-items.ts) and handed on when the aligner's output
// reaches an item's position. Replayed into EventRows, they must be the objects EventRows makes of
// the same calls, in the same order, an item merged with a guest command being the object
// mergeCommand makes of the two, however far the replay lags behind the reading: the buffer both
// grows (a long lag, as when the aligner looks 64 K commands ahead for the guest's first one) and
// drops what was replayed (a short lag). The guest's commands are kept as numbers too
// (guest-items.ts), made here from the same objects.
import { describe, expect, it } from 'vitest';
import { ALL, type CaptureEvent, type CmdEvent, type GeometryEvent } from '../capture/events.js';
import { isVtdWait } from '../capture/guest-vtd.js';
import { EventRows, NO_WRAP, type QueueRows } from '../capture/queue-rows.js';
import { Stamp } from '../capture/stamp.js';
import { halvesOf } from '../arrow/fixed-columns.js';
import { mergeCommand, sameCommand, type PairOut } from './align.js';
import { GuestKeptCommands } from './guest-items.js';
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
    // Now and then a command whose type QEMU could not tell (aligned all the same).
    if (k % 17 === 5) rows.unknownCommand(slot, wrap, FILE, 4 * k + 1, t, undefined);
    else rows.command(slot, k % 13 === 0 ? NO_WRAP : wrap, k, IOTLB | (k << 4), 0, k + 1, FILE, 4 * k + 1, t, undefined);
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

/**
 * The guest command the i-th item is merged with, or none (QEMU's alone): its qw0/qw1 those of
 * `q` (any for a command of unknown type), 4 words mostly (some 2), now and then with `known`
 * (which goes on as mergeCommand's object).
 */
function guestFor(i: number, q: CmdEvent): CmdEvent | undefined {
  if (i % 3 === 2) return undefined;
  const w0 = q.known === undefined ? q.words[0]! : 0x3n | (BigInt(i) << 40n);
  const w1 = q.known === undefined ? q.words[1]! : 0xffffffff00000000n + BigInt(i);
  const words = i % 10 === 6 ? [w0, w1] : [w0, w1, BigInt(i), 0xdeadbeef00000000n + BigInt(i)];
  return {
    kind: 'cmd',
    slot: 7,
    wrap: 1,
    words,
    ...(i % 30 === 3 ? { known: [ALL, ALL] as const } : {}),
    at: { file: 'guest.txt', line: i },
    ts_ns: 5n,
    cpu: i % 4,
  };
}

/**
 * The guest command `g` kept in `kept` as a guest queue's rows give it (a fully known one as its
 * halves, one with `known` as a fixed command): its position.
 */
function guestAt(kept: GuestKeptCommands, g: CmdEvent): number {
  const t = new Stamp();
  t.set(g.cpu, true, 0, Number(g.ts_ns));
  if (g.known === undefined) {
    const h = new Uint32Array(8);
    halvesOf(g.words, h);
    kept.guestCommand(g.slot, g.wrap!, h, 0, g.words.length, g.at.file, g.at.line, t);
  } else kept.fixedCommand(g.slot, g.wrap!, g.words, g.known, false, g.at.file, g.at.line, t);
  const [p, ...more] = kept.take();
  expect(more).toEqual([]);
  return p!;
}

/** The events as the aligner hands them on, each item merged (guestFor) or QEMU's alone. */
function replayed(steps: number, lag: number): CaptureEvent[] {
  const guest = new GuestKeptCommands('vtd');
  const items = new QemuVtdItems(guest);
  const rows = new EventRows();
  const out: CaptureEvent[] = [];
  const pending: number[] = [];
  let n = 0;
  const drain = (keep: number) => {
    while (pending.length > keep) {
      const it = pending.shift()!;
      const o: PairOut[] = [];
      const g = items.hasCommand(it) ? guestFor(n++, items.event(it)) : undefined;
      if (g !== undefined) {
        const gp = guestAt(guest, g);
        // kept as given (what the aligner's report would print of it)
        expect(guest.event(gp)).toEqual(g);
        items.emitMerged(it, gp, o);
        guest.done(gp);
      } else items.emitOnly(it, o);
      for (const e of o) {
        if (typeof e === 'number') {
          items.replay(e, rows);
          out.push(...rows.take());
        } else out.push(e);
      }
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
  // What the objects give: the alignable commands (all but waits) merged by mergeCommand.
  const expected = (() => {
    const r = new EventRows();
    feed(r, 3000);
    let n = 0;
    return r.take().map((e) => {
      if (e.kind !== 'cmd' || isVtdWait(e)) return e;
      const g = guestFor(n++, e);
      return g === undefined ? e : mergeCommand(e, g);
    });
  })();

  it.each([0, 1, 5, 2999])('replays the events in order, merged or not, with a lag of %i items', (lag) => {
    const got = replayed(3000, lag);
    expect(got.length).toBe(expected.length);
    expect(got).toEqual(expected);
  });

  it('gives only alignable commands as items, and nothing after the last one unless events follow it', () => {
    const items = new QemuVtdItems(new GuestKeptCommands('vtd'));
    feed(items, 3);
    const its = items.takeItems();
    // 3 IOTLB commands align (positions 0, 4, 7 among the 10 events: the ack of step 0 is the fourth).
    expect(its).toEqual([0, 4, 7]);
    expect(its.map((i) => items.event(i).slot)).toEqual([0, 2, 4]);
    expect(items.rest()).toEqual([~10]);
    expect(items.rest()).toEqual([]);
  });

  it('compares an item with a guest command as sameCommand does', () => {
    const guest = new GuestKeptCommands('vtd');
    const items = new QemuVtdItems(guest);
    feed(items, 40);
    for (const [i, p] of items.takeItems().entries()) {
      const q = items.event(p);
      const g = guestFor(i, q) ?? guestFor(0, q)!;
      const words = [...g.words];
      words[i % 2] = words[i % 2]! ^ (1n << BigInt(i % 64));
      const other = { ...g, words };
      expect(items.same(p, guestAt(guest, g))).toBe(sameCommand(q, g));
      expect(items.same(p, guestAt(guest, other))).toBe(sameCommand(q, other));
      expect(items.opUnknown(p)).toBe(q.known !== undefined);
    }
  });
});
