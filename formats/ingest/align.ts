// Both sides of a run in one trace. The clocks differ (QEMU: host time; guest: trace_clock), so the
// two are lined up by sequence: the QEMU side fixes the order, the slots, the doorbells and the
// waits; each QEMU command is paired with the next guest command, and a pair takes the raw words
// from whichever side has them (origin `merged`).
//
// What is compared (spec/vtd.md §7; captures README "The two sides agree"):
// - VT-d: the descriptors the guest traced (qi_submit) against QEMU's non-wait descriptors. Linux's
//   own waits are not traced, so waits come from QEMU only. A QEMU descriptor of unknown type (no
//   `vtd_inv_desc` line) pairs with any guest descriptor and takes its type from it.
// - SMMUv3: guest commands plus the CMD_SYNCs the driver appends against QEMU's commands consumed,
//   on the bits QEMU's decoded fields tell (known masks).
//
// Guest tracing covers a window of the run: QEMU commands before the guest's first one and after
// its last one have no counterpart (in the VT-d captures: 9 interrupt-entry-cache invalidations
// issued after the guest stopped tracing, while it powers off). The window's start is found by
// content (a run of WINDOW commands that agree); inside it every command must pair up. A
// mismatch is reported with its first position, then the two sides are re-synchronised if a
// common run is found close by (else the rest stays QEMU-only): never hidden.

import { hex } from '../bits.js';
import type { Arch } from '../codec/table.js';
import { codecFor, opcodeMaskOf } from '../codecs.js';
import { ALL, type At, type CaptureEvent, type CmdEvent } from '../capture/events.js';
import { isVtdWait } from '../capture/guest-vtd.js';

/** Commands that must agree in a row to call two positions the same. */
const WINDOW = 8;
/** How far into QEMU the guest's first command is looked for (commands). */
const START_SEARCH = 1 << 16;
/** How far both sides are searched to re-synchronise after a mismatch. */
const RESYNC_SEARCH = 256;

export interface Divergence {
  /** Pairs that agreed before this point. */
  readonly after_matched: number;
  readonly qemu: { readonly file: string; readonly line: number; readonly slot: number; readonly command: string } | null;
  readonly guest: { readonly file: string; readonly line: number; readonly command: string } | null;
  readonly message: string;
}

export interface Agreement {
  /** The rule checked, with the numbers. */
  readonly rule: string;
  /** QEMU commands compared (VT-d: non-wait descriptors; SMMUv3: all consumed). */
  qemu_commands: number;
  /** Guest commands compared (VT-d: qi_submit; SMMUv3: commands + appended CMD_SYNCs). */
  guest_commands: number;
  matched: number;
  /** QEMU commands before the guest's first traced one / after its last one. */
  qemu_before_guest: number;
  qemu_after_guest: number;
  /** QEMU and guest commands inside the window that found no counterpart. */
  qemu_unmatched: number;
  guest_unmatched: number;
  /** Ops of the QEMU commands without a guest counterpart. */
  readonly qemu_only_ops: Record<string, number>;
  /** QEMU commands of unknown type that the guest side named, by op. */
  readonly resolved: Record<string, number>;
  first_divergence: Divergence | null;
  divergences: number;
  agree: boolean;
}

/** An alignable QEMU command (or none, at the end) with the QEMU events before it, as objects. */
export type Item = { readonly pre: readonly CaptureEvent[]; readonly cmd: CmdEvent | undefined };

/**
 * What the aligner hands on: an event, or a position in the pair's QEMU side kept as numbers: its
 * events up to there go next (qemu-items.ts `replay`).
 */
export type PairOut = CaptureEvent | number;

/**
 * The QEMU side's items as the aligner reads them (each an alignable command with the events
 * before it, or the events after the last one), against the guest's commands `G`: objects (`Item`
 * and CmdEvent, ObjectItems) or positions in buffers of numbers (qemu-items.ts, guest-items.ts).
 */
export interface QemuItems<I, G> {
  /** Does the item end in a command (else it is the events after the last one)? */
  hasCommand(i: I): boolean;
  /** Does its command agree with the guest's `g` on every bit both know (`sameCommand`)? */
  same(i: I, g: G): boolean;
  /** Its command as an event object (for the report's words and names: rare). */
  event(i: I): CmdEvent;
  /** Are the type bits of its command unknown (no `vtd_inv_desc` line)? */
  opUnknown(i: I): boolean;
  /** Hands on its events before the command. */
  emitPre(i: I, out: PairOut[]): void;
  /** Hands on its events and its command merged with the guest's `g` (`mergeCommand`). */
  emitMerged(i: I, g: G, out: PairOut[]): void;
  /** Hands on its events and its command, QEMU's alone. */
  emitOnly(i: I, out: PairOut[]): void;
}

/**
 * The guest side's alignable commands as the aligner reads them: event objects (ObjectGuest) or
 * positions in a buffer of numbers (guest-items.ts). Each is handed to `done` once the aligner has
 * paired it or given it up, in order.
 */
export interface GuestCommands<G> {
  /** Its command as an event object (the report's words and names: rare). */
  event(g: G): CmdEvent;
  /** Are its opcode/type bits unknown? */
  opUnknown(g: G): boolean;
  /** The aligner is done with it, and with every command before it. */
  done(g: G): void;
}

/** Guest commands as objects (`guestCommands`). */
class ObjectGuest implements GuestCommands<CmdEvent> {
  constructor(private readonly opcodeUnknown: (c: CmdEvent) => boolean) {}
  event(g: CmdEvent): CmdEvent {
    return g;
  }
  opUnknown(g: CmdEvent): boolean {
    return this.opcodeUnknown(g);
  }
  done(_g: CmdEvent): void {}
}

/** Items as objects (`itemsOf`). */
class ObjectItems implements QemuItems<Item, CmdEvent> {
  constructor(private readonly opcodeUnknown: (c: CmdEvent) => boolean) {}
  hasCommand(i: Item): boolean {
    return i.cmd !== undefined;
  }
  same(i: Item, g: CmdEvent): boolean {
    return sameCommand(i.cmd!, g);
  }
  event(i: Item): CmdEvent {
    return i.cmd!;
  }
  opUnknown(i: Item): boolean {
    return this.opcodeUnknown(i.cmd!);
  }
  emitPre(i: Item, out: PairOut[]): void {
    for (const e of i.pre) out.push(e);
  }
  emitMerged(i: Item, g: CmdEvent, out: PairOut[]): void {
    this.emitPre(i, out);
    out.push(mergeCommand(i.cmd!, g));
  }
  emitOnly(i: Item, out: PairOut[]): void {
    this.emitPre(i, out);
    if (i.cmd !== undefined) out.push(i.cmd);
  }
}

/**
 * An async stream of batches, read item by item with a lookahead buffer. A shifted item is released
 * at once (its slot cleared, the array dropped when empty): kept until the next compaction, up to
 * 4096 consumed QEMU items (each with its events) and guest commands outlived the young generation,
 * were promoted and were copied by every scavenge (docs/ingest.md, "What the pair costs").
 */
class Ahead<T> {
  private buf: (T | undefined)[] = [];
  private pos = 0;
  private done = false;
  constructor(private readonly it: AsyncIterator<T[]>) {}

  /** Makes `n` items available if the stream has them; returns how many are. */
  async fill(n: number): Promise<number> {
    while (this.buf.length - this.pos < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else append(this.buf, r.value);
    }
    return Math.min(n, this.buf.length - this.pos);
  }

  /** Are `n` items buffered (no await needed)? */
  has(n: number): boolean {
    return this.buf.length - this.pos >= n;
  }

  at(i: number): T | undefined {
    return this.buf[this.pos + i];
  }

  shift(): T {
    const v = this.buf[this.pos]!;
    this.buf[this.pos++] = undefined;
    if (this.pos === this.buf.length) {
      this.buf = [];
      this.pos = 0;
    } else if (this.pos > 4096 && this.pos * 2 > this.buf.length) {
      this.buf = this.buf.slice(this.pos);
      this.pos = 0;
    }
    return v;
  }
}

/**
 * Appends `values` to `buf`. A loop of its own: inside the async `fill`, V8 compiled it on stack
 * before the code after it had run, and the code deoptimized there (docs/ingest.md, seventeenth pass).
 */
function append<T>(buf: (T | undefined)[], values: readonly T[]): void {
  for (const v of values) buf.push(v);
}

/** QEMU events grouped so that each alignable command carries the events before it. */
async function* itemsOf(batches: AsyncIterable<CaptureEvent[]>, alignable: (c: CmdEvent) => boolean): AsyncGenerator<Item[]> {
  let pre: CaptureEvent[] = [];
  for await (const batch of batches) {
    const items: Item[] = [];
    for (const e of batch) {
      if (e.kind === 'cmd' && alignable(e)) {
        items.push({ pre, cmd: e });
        pre = [];
      } else pre.push(e);
    }
    yield items;
  }
  if (pre.length > 0) yield [{ pre, cmd: undefined }];
}

async function* guestCommands(batches: AsyncIterable<CaptureEvent[]>, alignable: (c: CmdEvent) => boolean): AsyncGenerator<CmdEvent[]> {
  for await (const batch of batches) yield batch.filter((e): e is CmdEvent => e.kind === 'cmd' && alignable(e));
}

const BOTH_KNOWN: readonly [bigint, bigint] = [ALL, ALL];
const knownOf = (c: CmdEvent): readonly [bigint, bigint] => c.known ?? BOTH_KNOWN;

/** Do two commands agree on every bit both sides know? */
export function sameCommand(q: CmdEvent, g: CmdEvent): boolean {
  // Both sides know every bit (words are 64-bit values): the words themselves, without masking.
  if (q.known === undefined && g.known === undefined)
    return (q.words[0] ?? 0n) === (g.words[0] ?? 0n) && (q.words[1] ?? 0n) === (g.words[1] ?? 0n);
  const qk = knownOf(q);
  const gk = knownOf(g);
  const m0 = qk[0] & gk[0];
  const m1 = qk[1] & gk[1];
  return ((q.words[0] ?? 0n) & m0) === ((g.words[0] ?? 0n) & m0) && ((q.words[1] ?? 0n) & m1) === ((g.words[1] ?? 0n) & m1);
}

/** The words of a merged command: qw0/qw1 from QEMU, the bits it lacks from the guest; qw2/qw3 the guest's. */
function mergedWords(q: CmdEvent, g: CmdEvent, qk: readonly [bigint, bigint], gk: readonly [bigint, bigint], qAll: boolean): bigint[] {
  // QEMU's qw0/qw1 whole, the guest's qw2/qw3 (a scalable-mode pair): what the loop below gives.
  if (qAll && q.words.length === 2 && g.words.length === 4) return [q.words[0]!, q.words[1]!, g.words[2]!, g.words[3]!];
  const n = Math.max(q.words.length, g.words.length);
  const words: bigint[] = [];
  for (let w = 0; w < n; w++) {
    const qw = q.words[w] ?? 0n;
    const gw = g.words[w] ?? 0n;
    if (w < 2) words.push(qAll ? qw : (qw & qk[w as 0 | 1]) | (gw & gk[w as 0 | 1] & ~qk[w as 0 | 1]));
    else words.push(g.words.length > w ? gw : qw); // qw2/qw3: only the guest's tracepoint prints them
  }
  return words;
}

/** One command from both: QEMU's position and time, the guest's CPU, the bits each side knows. */
export function mergeCommand(q: CmdEvent, g: CmdEvent): CmdEvent {
  const qk = knownOf(q);
  const gk = knownOf(g);
  // QEMU knows every bit of qw0/qw1 (VT-d): its words as they are, nothing to take from the guest.
  const qAll = q.known === undefined;
  // QEMU knows every bit and the guest has no word beyond QEMU's: QEMU's words as they are.
  const words = qAll && g.words.length <= q.words.length ? q.words : mergedWords(q, g, qk, gk, qAll);
  const k0 = qAll ? ALL : qk[0] | gk[0];
  const k1 = qAll ? ALL : qk[1] | gk[1];
  return {
    kind: 'cmd',
    slot: q.slot,
    wrap: q.wrap,
    words,
    known: k0 === ALL && k1 === ALL ? undefined : [k0, k1],
    at: q.at,
    ts_ns: q.ts_ns,
    cpu: g.cpu ?? q.cpu,
    origin: 'merged',
  };
}

export class Aligner {
  readonly report: Agreement;
  private readonly opcodeMask: bigint;

  constructor(private readonly arch: Arch) {
    this.opcodeMask = opcodeMaskOf(arch);
    this.report = {
      rule: '',
      qemu_commands: 0,
      guest_commands: 0,
      matched: 0,
      qemu_before_guest: 0,
      qemu_after_guest: 0,
      qemu_unmatched: 0,
      guest_unmatched: 0,
      qemu_only_ops: {},
      resolved: {},
      first_divergence: null,
      divergences: 0,
      agree: false,
    };
  }

  /** Which commands take part: VT-d leaves waits out (the guest does not trace Linux's own). */
  private alignable = (c: CmdEvent): boolean => this.arch !== 'vtd' || !isVtdWait(c);

  /** Are the opcode/type bits of a command unknown (no source could tell them)? */
  opUnknown(c: CmdEvent): boolean {
    // A command that knows every bit (most) is answered without a BigInt.
    return c.known !== undefined && (c.known[0] & this.opcodeMask) !== this.opcodeMask;
  }

  opName(c: CmdEvent): string {
    if (this.opUnknown(c)) return '(unknown)';
    return codecFor(this.arch).decode(c.words.length >= 2 ? c.words : [...c.words, 0n]).name;
  }

  private describe(c: CmdEvent): string {
    const name = this.opName(c);
    const k = knownOf(c);
    const w = c.words.slice(0, 2).map((x, i) => (k[i] === ALL ? hex(x) : k[i] === 0n ? '?' : `${hex(x & k[i]!)}/${hex(k[i]!)}`));
    return `${name} ${w.join(' ')}`;
  }

  /** The merged event stream, in batches. `report` is complete when the stream ends. */
  merge(qemu: AsyncIterable<CaptureEvent[]>, guest: AsyncIterable<CaptureEvent[]>): AsyncGenerator<CaptureEvent[]> {
    // itemsOf's items carry their events as objects: no position reaches the output.
    const opUnknown = (c: CmdEvent) => this.opUnknown(c);
    return this.mergeItems(
      itemsOf(qemu, this.alignable),
      new ObjectItems(opUnknown),
      guestCommands(guest, this.alignable),
      new ObjectGuest(opUnknown),
    ) as AsyncGenerator<CaptureEvent[]>;
  }

  /**
   * `merge` of a QEMU side already grouped into items (each command this aligner aligns with the
   * events before it), read through `side` (qemu-items.ts: positions in a buffer of numbers), and
   * a guest side of the commands it aligns, read through `gside` (guest-items.ts: the same).
   */
  async *mergeItems<I, G>(
    qemu: AsyncIterable<I[]>,
    side: QemuItems<I, G>,
    guest: AsyncIterable<G[]>,
    gside: GuestCommands<G>,
  ): AsyncGenerator<PairOut[]> {
    const Q = new Ahead(qemu[Symbol.asyncIterator]());
    const G = new Ahead(guest[Symbol.asyncIterator]());
    let out: PairOut[] = [];
    let synced = false;
    let lost = false;
    for (;;) {
      if (out.length >= 1024) {
        yield out;
        out = [];
      }
      if (synced && !lost && this.matchRun(side, gside, Q, G, out)) continue;
      if (!Q.has(1)) await Q.fill(1);
      if (!Q.has(1)) break;
      const qi = Q.at(0)!;
      if (!side.hasCommand(qi)) {
        side.emitPre(Q.shift(), out);
        continue;
      }
      const haveGuest = !lost && (G.has(1) || (await G.fill(1)) > 0);
      if (!haveGuest) {
        // The guest stopped tracing (or was given up on): the rest is QEMU's alone.
        this.qemuOnly(side, Q.shift(), lost ? 'unmatched' : synced ? 'after' : 'before', out);
        continue;
      }
      if (!synced) {
        const s = await this.findSync(side, Q, G, START_SEARCH, 64);
        if (s === undefined) {
          this.diverge(side, gside, Q, G, `no common start: the guest's first command is not among QEMU's first ${START_SEARCH} commands`);
          lost = true;
          continue;
        }
        for (let i = 0; i < s.i; i++) this.qemuOnly(side, Q.shift(), 'before', out);
        for (let j = 0; j < s.j; j++) this.guestOnly(gside, G.shift());
        synced = true;
        continue;
      }
      const g = G.at(0)!;
      if (side.same(qi, g)) {
        this.pairFirst(side, gside, Q, G, out);
        continue;
      }
      this.diverge(side, gside, Q, G, `QEMU has ${this.describe(side.event(qi))}, the guest ${this.describe(gside.event(g))}`);
      const s = await this.findSync(side, Q, G, RESYNC_SEARCH, RESYNC_SEARCH);
      if (s === undefined) {
        lost = true;
        continue;
      }
      for (let i = 0; i < s.i; i++) this.qemuOnly(side, Q.shift(), 'unmatched', out);
      for (let j = 0; j < s.j; j++) this.guestOnly(gside, G.shift());
    }
    // QEMU ended first: what is left of the guest never reached the queue QEMU logged.
    while (G.has(1) || (await G.fill(1)) > 0) this.guestOnly(gside, G.shift());
    this.finishReport();
    yield out;
  }

  /**
   * Pairs the agreeing commands both lookaheads hold, up to an output batch: what the loop of
   * `mergeItems` does for them once synced, in a loop of its own (a long loop inside an async
   * generator makes V8 compile the whole generator on stack: docs/ingest.md, sixteenth pass).
   * Returns whether it paired any; it stops where the loop has more to do (a stream to read, an
   * item without a command, a mismatch).
   */
  private matchRun<I, G>(side: QemuItems<I, G>, gside: GuestCommands<G>, Q: Ahead<I>, G: Ahead<G>, out: PairOut[]): boolean {
    let any = false;
    while (out.length < 1024 && Q.has(1) && G.has(1)) {
      const qi = Q.at(0)!;
      if (!side.hasCommand(qi)) break;
      const g = G.at(0)!;
      if (!side.same(qi, g)) break;
      this.pairFirst(side, gside, Q, G, out);
      any = true;
    }
    return any;
  }

  /** The first items of both lookaheads agree: one merged command, counted (a QEMU op it did not know, resolved by the guest's). */
  private pairFirst<I, G>(side: QemuItems<I, G>, gside: GuestCommands<G>, Q: Ahead<I>, G: Ahead<G>, out: PairOut[]): void {
    const r = this.report;
    const qi = Q.shift();
    const g = G.shift();
    r.qemu_commands++;
    r.guest_commands++;
    r.matched++;
    if (side.opUnknown(qi) && !gside.opUnknown(g)) bump(r.resolved, this.opName(gside.event(g)));
    side.emitMerged(qi, g, out);
    gside.done(g);
  }

  private qemuOnly<I, G>(side: QemuItems<I, G>, item: I, where: 'before' | 'after' | 'unmatched', out: PairOut[]): void {
    if (!side.hasCommand(item)) return side.emitPre(item, out);
    const c = side.event(item);
    const r = this.report;
    r.qemu_commands++;
    if (where === 'before') r.qemu_before_guest++;
    else if (where === 'after') r.qemu_after_guest++;
    else r.qemu_unmatched++;
    bump(r.qemu_only_ops, this.opName(c));
    side.emitOnly(item, out);
  }

  private guestOnly<G>(gside: GuestCommands<G>, g: G): void {
    this.report.guest_commands++;
    this.report.guest_unmatched++;
    gside.done(g);
  }

  private diverge<I, G>(side: QemuItems<I, G>, gside: GuestCommands<G>, Q: Ahead<I>, G: Ahead<G>, message: string): void {
    const r = this.report;
    r.divergences++;
    if (r.first_divergence !== null) return;
    const q = Q.has(1) && side.hasCommand(Q.at(0)!) ? side.event(Q.at(0)!) : undefined;
    const g = G.has(1) ? gside.event(G.at(0)!) : undefined;
    r.first_divergence = {
      after_matched: r.matched,
      qemu: q ? { ...where(q.at), slot: q.slot, command: this.describe(q) } : null,
      guest: g ? { ...where(g.at), command: this.describe(g) } : null,
      message,
    };
  }

  /**
   * The nearest (i, j), smallest i + j first, such that QEMU's commands from i and the guest's from
   * j agree for WINDOW commands (or up to the end of the shorter side).
   */
  private async findSync<I, G>(
    side: QemuItems<I, G>,
    Q: Ahead<I>,
    G: Ahead<G>,
    maxQ: number,
    maxG: number,
  ): Promise<{ i: number; j: number } | undefined> {
    // Look close first and widen: the common case is a match at (0, 0).
    for (let lim = Math.min(64, maxQ); ; lim = Math.min(lim * 4, maxQ)) {
      const nq = await Q.fill(lim + WINDOW);
      const ng = await G.fill(Math.min(lim, maxG) + WINDOW);
      const fits = (i: number, j: number): boolean => {
        const w = Math.min(WINDOW, nq - i, ng - j);
        if (w <= 0) return false;
        for (let k = 0; k < w; k++) {
          const q = Q.at(i + k)!;
          if (!side.hasCommand(q)) return k > 0; // QEMU's trailing events: the run reached the end
          if (!side.same(q, G.at(j + k)!)) return false;
        }
        return true;
      };
      const li = Math.min(lim, nq - 1);
      const lj = Math.min(lim, maxG, ng - 1);
      for (let d = 0; d <= li + lj; d++) {
        for (let j = Math.max(0, d - li); j <= Math.min(d, lj); j++) if (fits(d - j, j)) return { i: d - j, j };
      }
      if (lim >= maxQ || nq < lim + WINDOW) return undefined;
    }
  }

  private finishReport(): void {
    const r = this.report as { -readonly [K in keyof Agreement]: Agreement[K] };
    r.agree = r.first_divergence === null && r.qemu_unmatched === 0 && r.guest_unmatched === 0 && r.matched === r.guest_commands;
    const n = grouped;
    r.rule =
      this.arch === 'vtd'
        ? `guest qi_submit descriptors (${n(r.guest_commands)}) = QEMU non-wait descriptors (${n(r.qemu_commands)}) - ${n(r.qemu_before_guest)} before guest tracing started - ${n(r.qemu_after_guest)} after it stopped`
        : `guest commands + appended CMD_SYNCs (${n(r.guest_commands)}) = QEMU commands consumed (${n(r.qemu_commands)}) - ${n(r.qemu_before_guest)} before guest tracing started - ${n(r.qemu_after_guest)} after it stopped`;
  }
}

const where = (at: At) => ({ file: at.file, line: at.line });

/**
 * A count with commas between groups of three digits, as `toLocaleString('en-US')` prints it, without
 * loading ICU's number formatting on first use (60-180 ms, the largest single cost of aligning a pair).
 */
export function grouped(x: number): string {
  return String(x).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function bump(m: Record<string, number>, k: string): void {
  m[k] = (m[k] ?? 0) + 1;
}
