// What every capture reader produces: queue events in canonical order (commands before the doorbell
// that published them), with the line they came from, plus the diagnostics of one input file
// (malformed lines, unknown events). formats/ingest turns these events into trace rows.

import type { Origin } from '../trace/fields.js';
import { InputFault, type InputError } from '../result.js';

/** Where an event came from. */
export interface At {
  readonly file: string;
  readonly line: number;
}

interface Common {
  readonly at: At;
  readonly ts_ns?: bigint;
  /** Guest CPU (ftrace) or host thread (QEMU). */
  readonly cpu?: number;
  /** Restored rather than seen (the VT-d wait Linux appends, a CMD_SYNC the driver adds). */
  readonly inferred?: boolean;
  readonly origin?: Origin;
}

/** Queue geometry as the source tells it (IQA / CMDQ_BASE writes, kernel console). */
export interface GeometryEvent extends Common {
  readonly kind: 'geometry';
  readonly entries: number;
  readonly descBytes: 16 | 32;
  readonly base?: bigint;
  /** What the geometry was read from, e.g. `vtd_reg_write IQA`. */
  readonly from: string;
}

/** A command written into `slot`. */
export interface CmdEvent extends Common {
  readonly kind: 'cmd';
  readonly slot: number;
  /** Wrap bit of `slot`; undefined for a rewrite of a slot (after a queue error). */
  readonly wrap: number | undefined;
  readonly words: readonly bigint[];
  /** Bits of w0/w1 the source could tell; undefined = all. */
  readonly known?: readonly [bigint, bigint];
}

/** The guest's producer write (CMDQ_PROD / IQT). */
export interface DoorbellEvent extends Common {
  readonly kind: 'doorbell';
  readonly slot: number;
  readonly wrap: number;
}

/** The guest acknowledged a queue error (GERRORN.CMDQ_ERR toggle, FSTS.IQE/ITE clear). */
export interface AckEvent extends Common {
  readonly kind: 'ack';
}

export type CaptureEvent = GeometryEvent | CmdEvent | DoorbellEvent | AckEvent;

/** All bits of a 64-bit word. */
export const ALL = 0xffffffffffffffffn;

const MAX_MESSAGES = 20;

/** What a Diagnostics counted and kept, as plain data (to carry it from a worker thread). */
export interface DiagnosticsState {
  readonly lines: number;
  readonly malformed: number;
  readonly events: readonly (readonly [string, number])[];
  readonly unknown: readonly (readonly [string, number])[];
  readonly messages: readonly string[];
  readonly dropped: number;
}

/** Problems found in one input file: malformed lines, unknown events, other warnings. */
export class Diagnostics {
  malformed = 0;
  /** Known lines read (parsed events, by event name). */
  readonly events = new Map<string, number>();
  readonly unknown = new Map<string, number>();
  /** Messages kept for the summary (the first few; the counts are exact). */
  readonly messages: string[] = [];
  private dropped = 0;
  lines = 0;

  constructor(
    readonly file: string,
    readonly strict = false,
  ) {}

  /** A line that cannot be read. With --strict: an InputFault naming file and line. */
  bad(line: number, message: string, field?: string): void {
    const e: InputError = { file: this.file, line, message, ...(field ? { field } : {}) };
    if (this.strict) throw new InputFault(e);
    this.malformed++;
    this.note(`${this.file}:${line}: ${field ? `${field}: ` : ''}${message}`);
  }

  /** Something worth telling that is not a malformed line (never fatal). */
  warn(message: string, line?: number): void {
    this.note(line !== undefined ? `${this.file}:${line}: ${message}` : `${this.file}: ${message}`);
  }

  seen(event: string, n = 1): void {
    this.events.set(event, (this.events.get(event) ?? 0) + n);
  }

  unknownEvent(event: string): void {
    this.unknown.set(event, (this.unknown.get(event) ?? 0) + 1);
  }

  private note(m: string): void {
    if (this.messages.length < MAX_MESSAGES) this.messages.push(m);
    else this.dropped++;
  }

  state(): DiagnosticsState {
    return {
      lines: this.lines,
      malformed: this.malformed,
      events: [...this.events],
      unknown: [...this.unknown],
      messages: [...this.messages],
      dropped: this.dropped,
    };
  }

  /** Takes over what another Diagnostics of the same file counted (one read in a worker thread). */
  restore(s: DiagnosticsState): void {
    this.lines = s.lines;
    this.malformed = s.malformed;
    this.events.clear();
    for (const [k, v] of s.events) this.events.set(k, v);
    this.unknown.clear();
    for (const [k, v] of s.unknown) this.unknown.set(k, v);
    this.messages.length = 0;
    this.messages.push(...s.messages);
    this.dropped = s.dropped;
  }

  /** Messages, with a last line counting those left out. */
  allMessages(): string[] {
    return this.dropped > 0 ? [...this.messages, `${this.file}: ${this.dropped} more warnings not shown`] : [...this.messages];
  }
}
