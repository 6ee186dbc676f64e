// Writes a canonical trace back as a JSONL scenario: the header line, then one event per line,
// with raw words as hex. Slots and producer values are written only where they differ from the
// placement cursor, so a round trip keeps every slot.

import type { RecordBatch } from 'apache-arrow';
import { hex } from '../bits.js';
import { wordsPerSlot, type TraceHeader } from '../trace/header.js';
import { viewBatch } from '../trace/view.js';
import { queueHeaders } from '../trace/queues.js';
import { RingCursor } from '../ring.js';

export class JsonlWriter {
  /** One placement cursor per guest queue. */
  private readonly cursors: RingCursor[];
  private readonly words: 2 | 4;

  constructor(
    readonly header: TraceHeader,
    private readonly out: (line: string) => void,
  ) {
    this.cursors = queueHeaders(header).map((h) => new RingCursor(h.queue_entries, h.start ?? 0));
    this.words = wordsPerSlot(header);
    out(JSON.stringify(header));
  }

  batch(batch: RecordBatch): void {
    const v = viewBatch(batch);
    const known = [batch.getChild('known0')!, batch.getChild('known1')!];
    const sid = batch.getChild('sid');
    for (let i = 0; i < v.length; i++) {
      const ev: Record<string, unknown> = {};
      const kind = v.kindOf(i);
      const queue = v.queueOf(i);
      const cursor = this.cursors[queue]!;
      if (kind === 'cmd') {
        const n = v.w[2]!.valid(i) ? this.words : 2;
        ev.cmd = v.words(i, n).map(hex);
        const slot = v.slot.values[i]!;
        const wrap = v.wrap.valid(i) ? v.wrap.values[i]! : undefined;
        if (wrap !== undefined && slot === cursor.slot && wrap === cursor.wrap) cursor.advance();
        else ev.slot = slot;
        const k0 = known[0]!.get(i) as bigint | null;
        if (k0 !== null) ev.known = [hex(k0), hex(known[1]!.get(i) as bigint)];
      } else if (kind === 'doorbell') {
        const prod = v.slot.values[i]!;
        const wrap = v.wrap.values[i]!;
        ev.doorbell = prod === cursor.slot && wrap === cursor.wrap ? true : { prod, wrap };
      } else if (kind === 'ack') {
        ev.ack = true;
      } else {
        ev.fault = kind;
        ev.sid = hex(sid!.get(i) as number);
      }
      if (queue !== 0) ev.queue = queue;
      if (v.ts.valid(i)) ev.ts = v.ts.values[i]!.toString();
      if (v.cpu.valid(i)) ev.cpu = v.cpu.values[i]!;
      this.out(JSON.stringify(ev));
    }
  }
}
