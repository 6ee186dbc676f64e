// The pair's VT-d QEMU side grouped into the aligner's items (align.ts `Item`: each alignable
// command with the events before it) as the queue's state machine emits them, instead of as event
// batches that `itemsOf` walks again: one generator layer and one array per block less, and an item
// whose command follows another directly shares one empty `pre` instead of a fresh array. The
// events themselves are EventRows' objects, field for field; which commands align is the aligner's
// rule (VT-d: all but waits, `isVtdWait`, read here from qw0's low half). `formats/ingest/pair-items.test.ts` checks that a pair
// read this way and through `itemsOf` gives the same trace, summary and errors.

import type { CaptureEvent } from '../capture/events.js';
import { isVtdWaitType } from '../capture/guest-vtd.js';
import { EventRows } from '../capture/queue-rows.js';
import type { Stamp } from '../capture/stamp.js';
import type { Item } from './align.js';

/** `pre` of an item with no event before its command (never written to). */
const NO_PRE: readonly CaptureEvent[] = Object.freeze([]);

export class QemuVtdItems extends EventRows {
  private items: Item[] = [];
  private pre: CaptureEvent[] | undefined;
  /** Does the command being made align (read from its halves, without a BigInt)? */
  private aligns = false;

  override command(
    slot: number,
    wrap: number,
    w0hi: number,
    w0lo: number,
    w1hi: number,
    w1lo: number,
    file: string,
    line: number,
    t: Stamp,
    detail: unknown,
  ): void {
    // Every bit known: `isVtdWait` of its words.
    this.aligns = !isVtdWaitType(w0lo);
    super.command(slot, wrap, w0hi, w0lo, w1hi, w1lo, file, line, t, detail);
  }

  override unknownCommand(slot: number, wrap: number, file: string, line: number, t: Stamp, detail: unknown): void {
    // No type bit known: `isVtdWait` is false.
    this.aligns = true;
    super.unknownCommand(slot, wrap, file, line, t, detail);
  }

  protected override add(e: CaptureEvent): void {
    if (e.kind === 'cmd' && this.aligns) {
      this.items.push({ pre: this.pre ?? NO_PRE, cmd: e });
      this.pre = undefined;
    } else (this.pre ??= []).push(e);
  }

  /** The items completed since the last call. */
  takeItems(): Item[] {
    const o = this.items;
    this.items = [];
    return o;
  }

  /** At the end: the events after the last alignable command, as an item without a command. */
  rest(): Item[] {
    const pre = this.pre;
    this.pre = undefined;
    return pre === undefined ? [] : [{ pre, cmd: undefined }];
  }
}
