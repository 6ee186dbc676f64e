// What the four queue readers (QEMU VT-d, QEMU SMMUv3, guest VT-d, guest SMMUv3) share: they are
// fed lines in order and hand out the queue events ready so far; the QEMU ones parse each line with
// their event table, counting unknown events and reporting malformed ones.

import type { CaptureEvent, Diagnostics } from './events.js';
import { isEventError, type EventError } from './qemu-format.js';
import type { QemuLogLine } from './qemu-log.js';

/** What a QEMU line's prefix tells (qemu-log.ts QemuLogLine, or qemu-bytes.ts ScannedLine). */
export interface LineMeta {
  readonly tid?: number | undefined;
  readonly ts_ns?: bigint | undefined;
}

/** The time and thread of an event, as queue events carry them. */
export const metaOf = (l: LineMeta): { ts_ns: bigint | undefined; cpu: number | undefined } => ({ ts_ns: l.ts_ns, cpu: l.tid });

export abstract class QueueReader {
  protected out: CaptureEvent[] = [];

  constructor(protected readonly diag: Diagnostics) {}

  /** The queue events ready so far (each handed out once). */
  take(): CaptureEvent[] {
    const o = this.out;
    this.out = [];
    return o;
  }

  /** Whether the reader reads the fields of `event` (a byte scanner may skip converting the others'). */
  valuesRead(_event: string): boolean {
    return true;
  }

  /** End of input: what is still open is handed out by the next `take()`. */
  abstract end(): void;

  /** The event of a QEMU log line; undefined (counted or reported) when unknown or malformed. */
  protected parsed<E extends { readonly event: string }>(
    parse: (l: QemuLogLine) => E | EventError | undefined,
    l: QemuLogLine,
    no: number,
  ): E | undefined {
    const e = parse(l);
    if (e === undefined) {
      this.diag.unknownEvent(l.event);
      return undefined;
    }
    if (isEventError(e)) {
      this.diag.bad(no, e.error, e.event);
      return undefined;
    }
    this.diag.seen(e.event);
    return e;
  }
}
