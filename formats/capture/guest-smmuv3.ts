// The SMMUv3 command queue as the guest's `smmu:cmdlist` kprobe on arm_smmu_cmdq_issue_cmdlist()
// shows it (samples/captures/README.md, spec/smmuv3.md §4.1, §7). Each event is one batch the
// driver puts into the queue:
// - only the first `n` recorded commands are real (the rest of the cK_* words is whatever memory
//   follows the array); commands beyond the recorded ones are commands of unknown type;
// - `sync=1`: the driver appends a CMD_SYNC that is not in the array. It is restored and marked
//   inferred; only its opcode is certain (CS/MSH/MSIATTR/MSI address depend on the SMMU's MSI
//   support), so its fields are null;
// - the doorbell: one CMDQ_PROD write per batch, inferred (the lock-free insertion of §4.1 may
//   fold concurrent batches into one write; the guest side cannot see that).
//
// Slots run from 0 (Linux starts with an empty queue) over a queue of the size the console's
// "allocated N entries for cmdq" line gives, with the wrap bit toggling each lap.

import { RingCursor } from '../ring.js';
import type { Diagnostics } from './events.js';
import { parseCmdList, type CmdList } from './ftrace.js';
import type { GuestItem } from './guest-trace.js';
import { QueueReader } from './queue-reader.js';

const CMD_SYNC = 0x46n;
const OPCODE = 0xffn;

export interface GuestSmmuv3Stats {
  batches: number;
  commands: number;
  /** Commands beyond what the kprobe recorded (n > recorded pairs): unknown type. */
  unrecorded: number;
  inferredSyncs: number;
  inferredDoorbells: number;
}

export class GuestSmmuv3Queue extends QueueReader {
  private readonly cursor: RingCursor;
  /** Word pairs per event, from the first cmdlist line. */
  private recorded: number | undefined;
  readonly stats: GuestSmmuv3Stats = { batches: 0, commands: 0, unrecorded: 0, inferredSyncs: 0, inferredDoorbells: 0 };

  constructor(diag: Diagnostics, opts: { entries: number; start?: number }) {
    super(diag);
    this.cursor = new RingCursor(opts.entries, opts.start ?? 0);
  }

  feed(g: GuestItem): void {
    const f = g.ftrace;
    if (f === undefined) {
      // Read from its bytes (guest-bytes.ts): a cmdlist carries its batch, already parsed.
      this.diag.seen(g.event);
      if (g.cmdlist !== undefined) this.batch(g.cmdlist, g.no, g.cpu, () => BigInt(g.ts));
      return;
    }
    this.diag.seen(f.event);
    if (f.event !== 'cmdlist') return;
    const b = parseCmdList(f.text);
    if (typeof b === 'string') return this.diag.bad(g.no, b, 'cmdlist');
    this.batch(b, g.no, f.cpu, () => f.ts_ns);
  }

  /** One batch: its commands, the unrecorded ones, the appended CMD_SYNC and the doorbell. */
  private batch(b: CmdList, no: number, cpu: number, ts: () => bigint): void {
    // One kprobe definition records the same pairs on every event: fewer is a line cut short.
    const want = (this.recorded ??= b.recorded);
    if (b.recorded < want)
      return this.diag.bad(no, `${b.recorded} of the ${want} recorded command pairs: the line is cut short`, 'cmdlist');
    if (b.n === 0 && !b.sync) return;
    const c = this.cursor;
    const meta = { at: { file: this.diag.file, line: no }, ts_ns: ts(), cpu };
    for (const words of b.cmds) {
      this.out.push({ kind: 'cmd', slot: c.slot, wrap: c.wrap, words, ...meta });
      c.advance();
      this.stats.commands++;
    }
    for (let k = 0; k < b.missing; k++) {
      this.out.push({ kind: 'cmd', slot: c.slot, wrap: c.wrap, words: [0n, 0n], known: [0n, 0n], ...meta });
      c.advance();
      this.stats.unrecorded++;
    }
    if (b.sync) {
      this.out.push({ kind: 'cmd', slot: c.slot, wrap: c.wrap, words: [CMD_SYNC, 0n], known: [OPCODE, 0n], ...meta, inferred: true });
      c.advance();
      this.stats.inferredSyncs++;
    }
    this.out.push({ kind: 'doorbell', slot: c.slot, wrap: c.wrap, ...meta, inferred: true });
    this.stats.batches++;
    this.stats.inferredDoorbells++;
  }

  end(): void {}
}
