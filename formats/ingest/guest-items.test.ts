// A pair's guest commands are kept as numbers (guest-items.ts) until the aligner is done with them.
// Read back, each must be the command the rows gave, as the guest queue's event object (words, known
// bits, CPU, line, inferred), however far the aligner lags: the buffer both grows (a long lag) and
// drops what the aligner is done with (a short lag). Only what the aligner aligns is kept (VT-d:
// no wait, traced or inferred; SMMUv3: every command).
import { describe, expect, it } from 'vitest';
import { halvesOf } from '../arrow/fixed-columns.js';
import { ALL, type CmdEvent } from '../capture/events.js';
import { INFERRED_WAIT_KNOWN, INFERRED_WAIT_WORDS } from '../capture/guest-vtd.js';
import { Stamp } from '../capture/stamp.js';
import { Aligner } from './align.js';
import { GuestKeptCommands } from './guest-items.js';

const FILE = 'guest.txt';
/** qw0 low halves: an IOTLB invalidation (type 2) and a wait (type 5, spec/vtd.md §2). */
const IOTLB = 0x2;
const WAIT = 0x5;

/** The k-th made-up guest command: mostly 4 fully known words, some 2, now and then one with known bits. */
function command(k: number): CmdEvent {
  const words = [BigInt(IOTLB | (k << 4)) | (BigInt(k) << 40n), 0xffffffff00000000n + BigInt(k)];
  if (k % 5 !== 1) words.push(BigInt(k) << 33n, 0xdeadbeef00000000n | BigInt(k));
  return {
    kind: 'cmd',
    slot: k % 256,
    wrap: (k >> 8) & 1,
    words,
    ...(k % 7 === 3 ? { known: [0xfffn, 0n] as const } : {}),
    at: { file: FILE, line: 3 * k + 1 },
    // times above 2^32 ns
    ts_ns: BigInt(k) * 5_000_000_000n + 17n,
    cpu: k % 4,
    ...(k % 7 === 3 && k % 2 === 0 ? { inferred: true } : {}),
  };
}

/** Gives `g` to `kept` as a guest queue's rows do: fully known as halves, else as a fixed command. */
function give(kept: GuestKeptCommands, g: CmdEvent): void {
  const t = new Stamp();
  const ts = g.ts_ns!;
  t.set(g.cpu, true, Number(ts >> 32n), Number(ts & 0xffffffffn));
  if (g.known === undefined) {
    const h = new Uint32Array(8);
    halvesOf(g.words, h);
    kept.guestCommand(g.slot, g.wrap!, h, 0, g.words.length, g.at.file, g.at.line, t);
  } else kept.fixedCommand(g.slot, g.wrap!, g.words, g.known, g.inferred === true, g.at.file, g.at.line, t);
}

describe('GuestKeptCommands', () => {
  // 3,000 commands: past the buffer's first 1,024.
  it.each([0, 1, 5, 2999])('gives each command back as it was kept, with the aligner %i commands behind', (lag) => {
    const kept = new GuestKeptCommands('vtd');
    const pending: { p: number; g: CmdEvent }[] = [];
    const check = (upTo: number) => {
      while (pending.length > upTo) {
        const { p, g } = pending.shift()!;
        expect(kept.event(p)).toEqual(g);
        kept.done(p);
      }
    };
    let seen = 0;
    for (let k = 0; k < 3000; k++) {
      const g = command(k);
      give(kept, g);
      const ps = kept.take();
      // one position each, in order
      expect(ps).toEqual([seen++]);
      pending.push({ p: ps[0]!, g });
      check(lag);
    }
    check(0);
    expect(seen).toBe(3000);
  });

  it('VT-d keeps no wait, traced or inferred; SMMUv3 keeps every command', () => {
    const t = new Stamp();
    t.set(1, true, 0, 5);
    const vtd = new GuestKeptCommands('vtd');
    const smmu = new GuestKeptCommands('smmuv3');
    const wait = new Uint32Array([WAIT | 0x20, 0, 0x1234, 0, 0, 0, 0, 0]);
    const iotlb = new Uint32Array([IOTLB | 0x20, 0, 0x1234, 0, 0, 0, 0, 0]);
    for (const kept of [vtd, smmu]) {
      kept.guestCommand(0, 0, wait, 0, 4, FILE, 1, t);
      kept.fixedCommand(1, 0, INFERRED_WAIT_WORDS, INFERRED_WAIT_KNOWN, true, FILE, 1, t);
      kept.guestCommand(2, 0, iotlb, 0, 4, FILE, 2, t);
    }
    // VT-d: the IOTLB invalidation alone (the third); SMMUv3 has no waits, so all three
    expect(vtd.take()).toEqual([0]);
    expect(vtd.event(0).slot).toBe(2);
    expect(smmu.take()).toEqual([0, 1, 2]);
  });

  it('tells whether the opcode bits are unknown as the aligner does of the event', () => {
    const aligner = new Aligner('smmuv3');
    const kept = new GuestKeptCommands('smmuv3');
    const t = new Stamp();
    t.set(0, true, 0, 0);
    // CMD_SYNC with its opcode known (0xff, spec/smmuv3.md §3), a command with nothing known, one
    // with the opcode's low 7 bits only, and a fully known one
    const knowns: (readonly [bigint, bigint] | undefined)[] = [[0xffn, 0n], [0n, 0n], [0x7fn, ALL], undefined];
    for (const [k, known] of knowns.entries()) {
      if (known === undefined) kept.guestCommand(k, 0, new Uint32Array([0x46, 0, 0, 0]), 0, 2, FILE, k, t);
      else kept.fixedCommand(k, 0, [0x46n, 0n], known, false, FILE, k, t);
    }
    const ps = kept.take();
    expect(ps.map((p) => kept.opUnknown(p))).toEqual([false, true, true, false]);
    expect(ps.map((p) => aligner.opUnknown(kept.event(p)))).toEqual([false, true, true, false]);
  });
});
