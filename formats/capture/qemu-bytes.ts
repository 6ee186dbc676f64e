// QEMU log lines parsed straight from the bytes of a block (formats/lines.ts readLineChunks), with
// no string per line: the `tid@sec.usec:` or bare prefix, the event name (looked up by a hash of its
// bytes), and the arguments matched against the event's templates (qemu-format.ts) compiled into
// byte matchers that read numbers as they go.
//
// This is a fast path, never a second grammar: it accepts only the canonical spelling of a template
// (single spaces, no blanks around `=`, `:`, `,`; printable ASCII; numbers short enough to convert
// exactly), which the template's regular expression accepts with the same values. Everything else
// (another prefix, other spacing, an unknown event, a value too long, a malformed line) answers
// FALLBACK, and the caller parses that line as text with qemu-log.ts and qemu-format.ts, which give
// the values, the unknown-event counts and the error messages. One case is decided here: a template
// whose canonical match runs out of input before its end cannot match with any spacing when nothing
// before that point could absorb more text (only number fields so far), so the next template is
// tried, as the regular expressions are, in order.

import type { EventSpec } from './qemu-format.js';
import { ascii, hashOf, hexVal, Interner, isDigit } from './line-bytes.js';
import type { Stamp } from './stamp.js';

/** The prefix of the line just scanned (reused from line to line). */
export class ScannedLine {
  /** Host thread id, when printed. */
  tid: number | undefined = undefined;
  /** Time as `whole` units of `scale` ns plus `ns` (seconds for tid@sec.usec, ms for ISO-8601). */
  private whole = 0;
  private scale = 1_000_000_000n;
  private ns = 0;
  private timed = false;

  set(tid: number | undefined, whole: number, scale: bigint, ns: number, timed: boolean): void {
    this.tid = tid;
    this.whole = whole;
    this.scale = scale;
    this.ns = ns;
    this.timed = timed;
  }

  /** `whole` * `scale` of the last time asked for (lines of one second share it). */
  private base = 0n;
  private baseWhole = -1;
  private baseScale = 0n;

  /** Host time in ns since the Unix epoch, when printed (made only when asked for). */
  get ts_ns(): bigint | undefined {
    if (!this.timed) return undefined;
    if (this.whole !== this.baseWhole || this.scale !== this.baseScale) {
      this.base = BigInt(this.whole) * this.scale;
      this.baseWhole = this.whole;
      this.baseScale = this.scale;
    }
    return this.base + BigInt(this.ns);
  }

  /** `whole` * `scale` mod 2^64 as halves, for the last `whole` and `scale` stamped. */
  private hHi = 0;
  private hLo = 0;
  private hWhole = -1;
  private hScale = 0n;

  /** Copies thread and time into `s`, the time as halves mod 2^64 (no BigInt but once per second). */
  stamp(s: Stamp): void {
    if (!this.timed) return s.set(this.tid, false, 0, 0);
    if (this.whole !== this.hWhole || this.scale !== this.hScale) {
      const b = BigInt.asUintN(64, BigInt(this.whole) * this.scale);
      this.hHi = Number(b >> 32n);
      this.hLo = Number(b & 0xffffffffn);
      this.hWhole = this.whole;
      this.hScale = this.scale;
    }
    // ns < 10^9 < 2^32: at most one carry into the high half. Without a branch: each operation
    // runs on every line, so V8 has feedback for all of them when it optimizes the readers this is
    // inlined into. A carry taken for the first time after that (a log's first second whose low
    // half is within 10^9 of 2^32) made the SMMUv3 reader's apply, mmio, stamp and stampOf bail out
    // ("insufficient type feedback for binary operation") and be compiled again.
    const sum = this.hLo + this.ns;
    const carry = sum >= 0x100000000 ? 1 : 0;
    s.set(this.tid, true, (this.hHi + carry) >>> 0, sum - carry * 0x100000000);
  }
}

/** Two digits at `p`, or -1. */
const two = (b: Buffer, p: number) => (isDigit(b[p]!) && isDigit(b[p + 1]!) ? (b[p]! - 48) * 10 + b[p + 1]! - 48 : -1);

/**
 * The ISO-8601 prefix `2025-07-21T18:43:28.089797Z ` at `s` (qemu-log.ts ISO_PREFIX): sets `line`
 * and returns where the event name starts, or -1 (parse as text). A date that does not round-trip
 * through Date.UTC (month 13, 24:00) is left to the text path.
 */
function isoPrefix(buf: Buffer, s: number, e: number, line: ScannedLine): number {
  if (e - s < 21) return -1;
  const y = (buf[s]! - 48) * 1000 + (buf[s + 1]! - 48) * 100 + two(buf, s + 2);
  const mo = two(buf, s + 5);
  const d = two(buf, s + 8);
  const h = two(buf, s + 11);
  const mi = two(buf, s + 14);
  const se = two(buf, s + 17);
  if (
    !isDigit(buf[s]!) ||
    !isDigit(buf[s + 1]!) ||
    buf[s + 4] !== 45 ||
    buf[s + 7] !== 45 ||
    buf[s + 10] !== 84 ||
    buf[s + 13] !== 58 ||
    buf[s + 16] !== 58
  )
    return -1;
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || se < 0) return -1;
  const ms = Date.UTC(y, mo - 1, d, h, mi, se);
  const t = new Date(ms);
  if (
    t.getUTCFullYear() !== y ||
    t.getUTCMonth() !== mo - 1 ||
    t.getUTCDate() !== d ||
    t.getUTCHours() !== h ||
    t.getUTCMinutes() !== mi ||
    t.getUTCSeconds() !== se
  )
    return -1;
  let p = s + 19;
  let ns = 0;
  if (buf[p] === 46) {
    // .(\d{1,9}): the first 9 digits of ns, padded at the end
    const f0 = ++p;
    for (; p < e && isDigit(buf[p]!); p++) ns = ns * 10 + (buf[p]! - 48);
    const nd = p - f0;
    if (nd === 0 || nd > 9) return -1;
    ns *= 10 ** (9 - nd);
  }
  if (buf[p] !== 90 || buf[p + 1] !== 32) return -1; // 'Z', then blanks
  p += 2;
  while (p < e && buf[p] === 32) p++;
  line.set(undefined, ms, 1_000_000n, ns, true);
  return p;
}

/** The scanner cannot decide this line: parse it as text. */
export const FALLBACK = undefined;

type Kind = 'u' | 'i' | 'x' | 'X' | 'b' | 's' | 'r';
/** One step of a matcher; all of one shape (a literal has kind LIT and no name). */
interface Op {
  readonly k: number;
  readonly lit: Uint8Array;
  readonly name: string;
}
const LIT = 0;
const KIND_CODE: Readonly<Record<Kind, number>> = { u: 1, i: 2, x: 3, X: 4, b: 5, s: 6, r: 7 };
const EMPTY = new Uint8Array(0);

interface Matcher {
  readonly ops: readonly Op[];
}

interface Entry {
  readonly name: Uint8Array;
  /** The name's bytes as little-endian 32-bit words (`wordsOf`; the last 0-3 bytes are in `name` only). */
  readonly words: Uint32Array;
  /** A name of 8 bytes or more as 8-byte doubles (`doublesOf`), as `DataView#getFloat64(p, true)` reads them. */
  readonly doubles: Float64Array;
  readonly key: string;
  /** The event's index in the table (older spellings share it): what `scanCode` returns. */
  readonly code: number;
  readonly spelling: string | undefined;
  /**
   * Matchers of the templates in order; undefined when a template has no fast form. Until the
   * event's first line, stubs that generate them (`lazyMatchers`).
   */
  matchers: readonly (Generated | undefined)[] | undefined;
  /** Events of this name read since the last `takeCounts`. */
  hits: number;
  /** The entry of the line that followed the last line of this event (`locate` tries it first). */
  next: Entry | undefined;
  /** The ones that followed it before, when others (`locate` tries them second and third). */
  next2: Entry | undefined;
  next3: Entry | undefined;
}

/**
 * `next` followed `prev`'s event, found at position `k` of its followers (0-2: `next`, `next2`,
 * `next3`; 3: none of them, found by the hash): it moves to the front, the ones before it one back
 * (a follower found at 3 pushes the third out).
 */
function follows(prev: Entry, next: Entry, k: number): void {
  if (k === 0) return;
  if (k >= 2) prev.next3 = prev.next2;
  prev.next2 = prev.next;
  prev.next = next;
}

/** Bytes `b[0, 4k)` as little-endian 32-bit words, as `DataView#getUint32(p, true)` reads them. */
function wordsOf(b: Uint8Array): Uint32Array {
  const w = new Uint32Array(b.length >> 2);
  for (let i = 0; i < w.length; i++) w[i] = word32(b, 4 * i);
  return w;
}

/**
 * QEMU's `%06ld:` (the microseconds and the colon after them) read as two little-endian 32-bit
 * words, `w` at its start (digits 0-3) and `x` three bytes on (digit 3, digits 4-5 and ':'): the
 * six digits' value, or -1 when the seven bytes are not six digits and a colon. A byte b is a digit
 * when the high nibble of b and of b + 6 is 3. The digits are converted by two multiply-adds.
 */
function usecColon(w: number, x: number): number {
  if (
    (w & 0xf0f0f0f0) !== 0x30303030 ||
    ((w + 0x06060606) & 0xf0f0f0f0) !== 0x30303030 ||
    (x & 0xfff0f0f0) !== 0x3a303030 ||
    ((x + 0x00060606) & 0x00f0f0f0) !== 0x00303030
  )
    return -1;
  const d = w - 0x30303030; // the four digits' values, the first in the low byte
  const t = (d * 10 + (d >>> 8)) & 0x00ff00ff; // digits 0-1 and 2-3 as two-digit numbers
  // digits 4 and 5 are bytes 1 and 2 of x: 48 * 10 + 48 = 528 of ASCII taken off at once
  return ((t & 0xffff) * 100 + (t >>> 16)) * 100 + ((x >>> 8) & 0xff) * 10 + ((x >>> 16) & 0xff) - 528;
}

const word32 = (b: Uint8Array, k: number) => (b[k]! | (b[k + 1]! << 8) | (b[k + 2]! << 16) | (b[k + 3]! << 24)) >>> 0;

/**
 * Bytes `b` of 8 or more as 8-byte doubles compared with `DataView#getFloat64(p, true)`: `[8i, 8i + 8)`,
 * the last one `[n - 8, n)` (overlapping the one before), so that `ceil(n / 8)` reads cover them all
 * (empty below 8 bytes). Exact for the bytes compared here: two doubles are equal only when their bits
 * are, except NaN (never equal: a line's bytes that read as NaN differ) and +0 / -0 (all-zero bytes
 * with or without the top bit), and the bytes stored (printable ASCII: event names, `tid@sec.`) make
 * neither.
 */
function doublesOf(b: Uint8Array): Float64Array {
  const n = b.length;
  if (n < 8) return new Float64Array(0);
  const dv = new DataView(b.buffer, b.byteOffset, n);
  const d = new Float64Array((n + 7) >> 3);
  for (let i = 0; i < d.length - 1; i++) d[i] = dv.getFloat64(8 * i, true);
  d[d.length - 1] = dv.getFloat64(n - 8, true);
  return d;
}

/** The longest `tid@sec.` prefix `locate` remembers. */
const PREFIX_MAX = 32;

const PLACEHOLDER = /^\{(\w+):([uixXbsr])\}$/;

/** The byte matcher of a template: its literals in canonical spelling and its fields. */
function compile(template: string): Matcher | undefined {
  const ops: Op[] = [];
  for (const part of template.split(/(\{\w+:[uixXbsr]\})/)) {
    if (part === '') continue;
    const m = PLACEHOLDER.exec(part);
    if (m !== null) {
      if (m[2] === 'r') return undefined; // free text: only the regular expression knows where it ends
      ops.push({ k: KIND_CODE[m[2] as Kind], lit: EMPTY, name: m[1]! });
    } else ops.push({ k: LIT, lit: ascii(part.replace(/\s+/g, ' ')), name: '' });
  }
  // A field directly followed by another, or by a literal that starts inside its character set,
  // would need backtracking: no fast form.
  for (let i = 0; i + 1 < ops.length; i++) {
    const a = ops[i]!;
    const b = ops[i + 1]!;
    if (a.k !== LIT && (b.k !== LIT || inSet(a.k, b.lit[0]!))) return undefined;
  }
  return { ops };
}

function inSet(k: number, c: number): boolean {
  switch (k) {
    case KIND_CODE.u:
    case KIND_CODE.i:
    case KIND_CODE.b:
      return isDigit(c) || (k === KIND_CODE.i && c === 45);
    case KIND_CODE.x:
    case KIND_CODE.X:
      return hexVal(c) >= 0;
    default:
      return c > 32 && c < 127;
  }
}

const NO_MATCH = 0 as const;
const DEFINITE = 1 as const;

/** What a matcher hands its fields to: an object per event, or the scanner's registers. */
export type ScanMode = 'objects' | 'registers';

/** `scanCode`: the line must be parsed as text. */
export const FALLBACK_CODE = -1;
const HIT = 2 as const;

/**
 * Where an event's fields go in register mode: one register per field name of any of its templates
 * (two for a 64-bit hex field: its halves, high first), in template order.
 */
function registerLayout(templates: readonly string[] | undefined): Map<string, { at: number; kind: Kind }> {
  const out = new Map<string, { at: number; kind: Kind }>();
  let at = 0;
  for (const t of templates ?? []) {
    for (const m of t.matchAll(/\{(\w+):([uixXbsr])\}/g)) {
      if (out.has(m[1]!)) continue;
      const kind = m[2] as Kind;
      out.set(m[1]!, { at, kind });
      at += kind === 'X' ? 2 : 1;
    }
  }
  return out;
}

/**
 * Empty lines `warmViews` hands `locate`: enough bytecode run for V8 to give it a feedback vector
 * (allocated after a budget of executed bytecode, not a number of calls), then some.
 */
const WARM_CALLS = 512;

/** Event tables of QEMU log lines, read from bytes. */
export class QemuByteScanner {
  /** The entries by the slot of their name's hash (`NameSlots`). */
  private readonly names: NameSlots;
  private readonly entries: Entry[] = [];
  private readonly layouts = new Map<string, Map<string, { at: number; kind: Kind }>>();
  private readonly codes = new Map<string, number>();
  readonly line = new ScannedLine();
  /** Register mode: the fields of the event `scanCode` just read (numbers; hex64 as two halves). */
  readonly R: Float64Array;
  /** Register mode: the `{x:s}` fields (interned strings). */
  readonly S: (string | undefined)[];
  /** Where the arguments of the line being scanned start. */
  private args = 0;
  /** The entry of the last line `match` parsed. */
  private matched: Entry | undefined;
  /** The entry of the last line `locate` found (its `next` is the guess for the line after). */
  private prev: Entry | undefined;
  /**
   * The block being scanned, as a DataView: literals, the remembered prefix and guessed names are
   * compared 4 bytes at a time (unaligned little-endian reads).
   */
  private dv: DataView = new DataView(new ArrayBuffer(0));
  private dvBuf: Buffer | undefined;
  /**
   * The `tid@sec.` of the last line read with that prefix (its bytes, as words too, and its values;
   * `preLen` 0: none): most lines repeat it, and the same bytes mean the same tid and seconds.
   */
  private readonly preBytes = new Uint8Array(PREFIX_MAX);
  private readonly preWords = new Uint32Array(PREFIX_MAX >> 2);
  /** A prefix of 8 bytes or more as doubles (`doublesOf`'s layout: `[0, 8)`, `[8, 16)`, `[16, 24)`, the last at `[n - 8, n)`). */
  private readonly preDoubles = new Float64Array(PREFIX_MAX >> 3);
  private preLen = 0;
  private preTid = 0;
  private preSec = 0;

  /**
   * `valuesRead(event)`: whether the reader reads the fields of that event. For an event whose
   * fields it does not read (a queue reader that keeps no per-command detail), a line in canonical
   * spelling is checked exactly as before (same template, same limits, so the same lines fall back
   * to the text path) but its numbers are not converted: `scan` returns one shared `{ event }`
   * (and `spelling`) object. `mode`: `objects`, `scan` returns each event as an object like the
   * text parser's; `registers`, `scanCode` returns the event's code and leaves its fields in `R`
   * and `S` (`register` tells where), so no object is made per line.
   */
  constructor(
    table: Readonly<Record<string, EventSpec<unknown>>>,
    valuesRead: (event: string) => boolean = () => true,
    readonly mode: ScanMode = 'objects',
  ) {
    let size = 1;
    let code = 0;
    for (const [key, spec] of Object.entries(table)) {
      const layout = registerLayout(spec.parse.templates);
      this.layouts.set(key, layout);
      for (const r of layout.values()) size = Math.max(size, r.at + (r.kind === 'X' ? 2 : 1));
      this.codes.set(key, code++);
    }
    this.R = new Float64Array(size);
    this.S = new Array<string | undefined>(size).fill(undefined);
    for (const [key, spec] of Object.entries(table)) {
      const compiled = spec.parse.templates?.map(compile);
      const values = valuesRead(key);
      const layout = mode === 'registers' ? this.layouts.get(key)! : undefined;
      for (const name of [key, ...(spec.aka ?? [])]) {
        const bytes = ascii(name);
        const spelling = name === key ? undefined : name;
        const entry: Entry = {
          name: bytes,
          words: wordsOf(bytes),
          doubles: doublesOf(bytes),
          key,
          code: this.codes.get(key)!,
          spelling,
          matchers: undefined,
          hits: 0,
          next: undefined,
          next2: undefined,
          next3: undefined,
        };
        if (compiled !== undefined) entry.matchers = this.lazyMatchers(entry, compiled, values, layout);
        this.entries.push(entry);
      }
    }
    this.names = nameSlots(this.entries);
    this.warmViews();
  }

  /**
   * Runs `locate`'s branch for a new block (a DataView of another buffer) before the first line.
   * That branch runs on a block's first line only: on the very first, V8 has not yet given `locate`
   * the feedback vector where it records what a line does, and the next time (the second block, or
   * the line joined across the first block's end) `locate` is already optimized without it, so
   * TurboFan's code bailed out there and `locate` was compiled again, with the reader it is inlined
   * into (~60 M instructions, ~3% of an 11 MB log's ingest; docs/ingest.md "Sixteenth pass"). Empty
   * lines of two scratch buffers take the branch and nothing else, and the scanner forgets them.
   */
  private warmViews(): void {
    // A line of an event with a fast form, in two buffers: the first call parses its prefix and
    // name the general way, the next ones take the common path (prefix remembered, name guessed),
    // so that `general` is not counted as common (TurboFan inlined it into `locate` when the
    // warm-up was empty lines, which all end there). Else empty lines.
    const entry = this.entries.find((x) => x.matchers !== undefined && x.doubles.length > 0 && x.doubles.length <= 3);
    const text = entry === undefined ? '' : `10000000@1.000000:${String.fromCharCode(...entry.name)}`;
    const a = Buffer.from(text);
    const b = Buffer.from(text);
    for (let i = 0; i < WARM_CALLS; i++) this.locate(i % 2 === 0 ? a : b, 0, text.length);
    // Forgotten: the prefix, the last entry and what followed it.
    this.preLen = 0;
    this.prev = undefined;
    for (const x of this.entries) x.next = x.next2 = x.next3 = undefined;
    this.dvBuf = undefined;
    this.dv = new DataView(new ArrayBuffer(0));
  }

  /**
   * Stubs in place of `entry`'s matchers: the first one called generates them all (`generate`: the
   * source of a function per template, compiled by `new Function`), puts them in the entry and runs
   * its own. A log holds a few of the table's events (a VT-d capture ~20 of 60 names), so most are
   * never generated. Stubs rather than a check in `match`: its call site sees functions either way
   * (no branch that a line of a new event would take for the first time in optimized code).
   */
  private lazyMatchers(
    entry: Entry,
    compiled: readonly (Matcher | undefined)[],
    values: boolean,
    layout: ReadonlyMap<string, { readonly at: number; readonly kind: Kind }> | undefined,
  ): (Generated | undefined)[] {
    let made: (Generated | undefined)[] | undefined;
    const generated = () => {
      if (made === undefined) {
        made = compiled.map((m) => m && generate(m, entry.key, entry.spelling, values, layout, this.R, this.S));
        this.generatedNames++;
      }
      entry.matchers = made;
      return made;
    };
    return compiled.map((m, i) => m && ((buf: Buffer, s: number, e: number, dv: DataView) => generated()[i]!(buf, s, e, dv)));
  }

  private generatedNames = 0;

  /** How many event names (spellings) have had their matchers generated so far (`lazyMatchers`). */
  get generated(): number {
    return this.generatedNames;
  }

  /** The code `scanCode` returns for `event` (its index in the table). */
  code(event: string): number {
    const c = this.codes.get(event);
    if (c === undefined) throw new Error(`qemu-bytes: no event ${event} in the table`);
    return c;
  }

  /** Register mode: where field `field` of `event` is in `R` (its high half for a 64-bit hex field) or `S`. */
  register(event: string, field: string): number {
    const r = this.layouts.get(event)?.get(field);
    if (r === undefined) throw new Error(`qemu-bytes: no field ${field} in ${event}`);
    return r.at;
  }

  /**
   * The event of line `buf[s, e)`, parsed and counted (`takeCounts`), with `this.line` set to its
   * prefix; FALLBACK when the line must be parsed as text. Object mode.
   */
  scan(buf: Buffer, s: number, e: number): Record<string, unknown> | undefined {
    const r = this.match(buf, s, e);
    return r === undefined ? FALLBACK : (r as Record<string, unknown>);
  }

  /**
   * Register mode: the code of the event of line `buf[s, e)` (`code`), counted, its fields in `R`
   * and `S` and its prefix in `this.line`; FALLBACK_CODE when the line must be parsed as text.
   */
  scanCode(buf: Buffer, s: number, e: number): number {
    return this.match(buf, s, e) === undefined ? FALLBACK_CODE : this.matched!.code;
  }

  /**
   * What the first template of the line's event that fits returns (its entry counted and kept in
   * `matched`), or undefined when the line must be parsed as text: an event not known, a template
   * not compiled, or none that fits (the text path words the error).
   */
  private match(buf: Buffer, s: number, e: number): unknown {
    const entry = this.locate(buf, s, e);
    if (entry === undefined) return undefined;
    const ms = entry.matchers!;
    const a = this.args;
    for (let i = 0; i < ms.length; i++) {
      const m = ms[i];
      if (m === undefined) return undefined;
      const r = m(buf, a, e, this.dv);
      if (r === NO_MATCH) return undefined;
      if (r === DEFINITE) continue;
      entry.hits++;
      this.matched = entry;
      return r;
    }
    return undefined;
  }

  /**
   * The prefix and event name of line `buf[s, e)`: sets `this.line` and `this.args`, returns the
   * entry of an event with a fast form, or undefined (parse as text).
   */
  private locate(buf: Buffer, s: number, e: number): Entry | undefined {
    if (buf !== this.dvBuf) {
      this.dvBuf = buf;
      this.dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    }
    // Most lines, read here without a call: the remembered `tid@sec.` (9-24 bytes: two or three doubles),
    // QEMU's six fraction digits and ':' (two words, as `fraction` reads them), and the name that
    // followed the last line's event (9-24 bytes: two or three doubles, as `nameAt` compares them).
    // The same checks as the general way (`general`, `fraction`, `named`), which takes every line
    // where one of them fails, from its start.
    const n = this.preLen;
    const q = s + n;
    if (n > 8 && n <= 24 && q + 7 < e) {
      const dv = this.dv;
      const pd = this.preDoubles;
      if (
        dv.getFloat64(s, true) === pd[0] &&
        dv.getFloat64(q - 8, true) === pd[(n - 1) >> 3] &&
        (n <= 16 || dv.getFloat64(s + 8, true) === pd[1])
      ) {
        const frac = usecColon(dv.getUint32(q, true), dv.getUint32(q + 3, true));
        if (frac >= 0) {
          this.line.set(this.preTid, this.preSec, 1_000_000_000n, frac * 1000, true);
          const n0 = q + 7;
          // The three names that followed the last line's event, most recent first (`named` tries
          // the same, with nameAt, in the same order, and moves the one found to the front).
          const prev = this.prev;
          if (prev !== undefined) {
            let g = prev.next;
            for (let k = 0; g !== undefined;) {
              const gd = g.doubles;
              const nd = gd.length;
              const after = n0 + g.name.length;
              if (
                nd !== 0 &&
                nd <= 3 &&
                (after === e || (after < e && buf[after] === 32)) &&
                dv.getFloat64(n0, true) === gd[0] &&
                dv.getFloat64(after - 8, true) === gd[nd - 1] &&
                (nd < 3 || dv.getFloat64(n0 + 8, true) === gd[1])
              ) {
                this.args = after < e ? after + 1 : e;
                follows(prev, g, k);
                return (this.prev = g);
              }
              if (++k === 3) break;
              g = k === 1 ? prev.next2 : prev.next3;
            }
          }
          return this.named(buf, n0, e);
        }
      }
    }
    return this.general(buf, s, e);
  }

  /** `locate` for any line: the prefix (remembered, tid@sec.usec:, ISO-8601 or none), then `named`. */
  private general(buf: Buffer, s: number, e: number): Entry | undefined {
    let p = s;
    let c = buf[p];
    if (c === undefined || p >= e) return undefined;
    if (isDigit(c)) {
      if (this.samePrefix(buf, s, e)) p = this.fraction(buf, s + this.preLen, e, this.preTid, this.preSec);
      else {
        // tid@sec.usec:
        let tid = 0;
        const t0 = p;
        for (; p < e && isDigit((c = buf[p]!)); p++) tid = tid * 10 + (c - 48);
        if (c === 45 && p - t0 === 4) p = isoPrefix(buf, s, e, this.line);
        else if (c !== 64 || p - t0 > 15)
          return undefined; // '@' (else not a trace line)
        else p = this.tidPrefix(buf, s, p, e, tid);
      }
      if (p < 0) return undefined;
    } else if (c >= 97 && c <= 122) this.line.set(undefined, 0, 1n, 0, false);
    else return undefined;
    return this.named(buf, p, e);
  }

  /**
   * The event name at `n0` of a line ending at `e` whose prefix is read: sets `this.args` and
   * returns its entry when it has a fast form, else undefined.
   */
  private named(buf: Buffer, n0: number, e: number): Entry | undefined {
    // NAME = [a-z0-9]+_[a-z0-9_]*, then a blank and the arguments, or the end of the line
    let p = n0;
    // First the name that followed the last line's event: its bytes there, then a blank or the end,
    // is that name (names hold no blank), which the hash below would find.
    const prev = this.prev;
    if (prev !== undefined) {
      const guess = prev.next;
      if (guess !== undefined) {
        if (this.nameAt(guess, buf, n0, e)) return (this.prev = guess);
        // Then the two before it (an event followed by one of two or three others in turn); the
        // one found moves to the front.
        const second = prev.next2;
        if (second !== undefined) {
          if (this.nameAt(second, buf, n0, e)) {
            follows(prev, second, 1);
            return (this.prev = second);
          }
          const third = prev.next3;
          if (third !== undefined && this.nameAt(third, buf, n0, e)) {
            follows(prev, third, 2);
            return (this.prev = third);
          }
        }
      }
    }
    let underscore = false;
    let h = 0;
    while (p < e) {
      const c = buf[p]!;
      if ((c >= 97 && c <= 122) || isDigit(c)) h = (Math.imul(h, 31) + c) | 0;
      else if (c === 95 && p > n0) {
        underscore = true;
        h = (Math.imul(h, 31) + c) | 0;
      } else break;
      p++;
    }
    if (!underscore || (p < e && buf[p] !== 32)) return undefined;
    const names = this.names;
    const entry = names.slots[Math.imul(h, names.mult) >>> names.shift];
    if (entry === undefined || entry.name.length !== p - n0) return undefined;
    const name = entry.name;
    for (let k = 0; k < name.length; k++) if (buf[n0 + k] !== name[k]) return undefined;
    if (entry.matchers === undefined) return undefined; // unknown events are counted by the text path
    this.args = p < e ? p + 1 : e;
    if (prev !== undefined) follows(prev, entry, 3);
    return (this.prev = entry);
  }

  /** Whether line `buf[s, e)` starts with the remembered `tid@sec.` and has more after it. */
  private samePrefix(buf: Buffer, s: number, e: number): boolean {
    const n = this.preLen;
    if (n === 0 || e - s <= n) return false;
    const dv = this.dv;
    if (n >= 8) {
      // 8 bytes at a time, the last read ending at the prefix's end (doublesOf)
      const d = this.preDoubles;
      if (dv.getFloat64(s, true) !== d[0] || dv.getFloat64(s + n - 8, true) !== d[(n - 1) >> 3]) return false;
      return n <= 16 || (dv.getFloat64(s + 8, true) === d[1] && (n <= 24 || dv.getFloat64(s + 16, true) === d[2]));
    }
    const w = this.preWords;
    let k = 0;
    for (; k + 4 <= n; k += 4) if (dv.getUint32(s + k, true) !== w[k >> 2]) return false;
    for (; k < n; k++) if (buf[s + k] !== this.preBytes[k]) return false;
    return true;
  }

  /**
   * Whether `entry`'s name is at `buf[n0, e)`, followed by a blank or the end of the line (then
   * `this.args` is set). An entry `locate` returned before: one with a fast form.
   */
  private nameAt(entry: Entry, buf: Buffer, n0: number, e: number): boolean {
    const name = entry.name;
    const n = name.length;
    const after = n0 + n;
    if (after > e || (after < e && buf[after] !== 32)) return false;
    const dv = this.dv;
    const d = entry.doubles;
    const nd = d.length;
    if (nd !== 0) {
      // 8 bytes at a time, the last read ending at the name's end (doublesOf)
      if (dv.getFloat64(n0, true) !== d[0] || dv.getFloat64(after - 8, true) !== d[nd - 1]) return false;
      for (let i = 1; i < nd - 1; i++) if (dv.getFloat64(n0 + 8 * i, true) !== d[i]) return false;
    } else {
      const w = entry.words;
      let k = 0;
      for (; k + 4 <= n; k += 4) if (dv.getUint32(n0 + k, true) !== w[k >> 2]) return false;
      for (; k < n; k++) if (buf[n0 + k] !== name[k]) return false;
    }
    this.args = after < e ? after + 1 : e;
    return true;
  }

  /** Hands over the number of events read per event name since the last call (`scan` counts them). */
  takeCounts(add: (event: string, n: number) => void): void {
    for (const x of this.entries) {
      if (x.hits === 0) continue;
      add(x.key, x.hits);
      x.hits = 0;
    }
  }

  /**
   * `@sec.usec:` after the tid (at `p`, on the '@'; the line starts at `s`): sets the line and
   * remembers the prefix up to the '.'; where the name starts, or -1.
   */
  private tidPrefix(buf: Buffer, s: number, p: number, e: number, tid: number): number {
    let c = 0;
    const s0 = ++p;
    let sec = 0;
    for (; p < e && isDigit((c = buf[p]!)); p++) sec = sec * 10 + (c - 48);
    if (c !== 46 || p === s0 || p - s0 > 15) return -1; // '.'
    const n = p + 1 - s;
    if (n <= PREFIX_MAX) {
      for (let k = 0; k < n; k++) this.preBytes[k] = buf[s + k]!;
      for (let k = 0; k + 4 <= n; k += 4) this.preWords[k >> 2] = word32(this.preBytes, k);
      if (n >= 8) this.preDoubles.set(doublesOf(this.preBytes.subarray(0, n)));
      this.preLen = n;
      this.preTid = tid;
      this.preSec = sec;
    } else this.preLen = 0;
    return this.fraction(buf, p + 1, e, tid, sec);
  }

  /** `usec:` at `p` of a line stamped `tid@sec.`: sets the line; where the name starts, or -1. */
  private fraction(buf: Buffer, p: number, e: number, tid: number, sec: number): number {
    if (p + 7 <= e) {
      const frac = usecColon(this.dv.getUint32(p, true), this.dv.getUint32(p + 3, true));
      if (frac >= 0) {
        this.line.set(tid, sec, 1_000_000_000n, frac * 1000, true);
        return p + 7;
      }
    }
    let c = 0;
    const f0 = p;
    let frac = 0;
    for (; p < e && isDigit((c = buf[p]!)); p++) frac = frac * 10 + (c - 48);
    const nd = p - f0;
    if (c !== 58 || nd === 0 || nd > 9) return -1; // ':'
    // qemu-log.ts: microseconds padded to 6 digits, then read as the first 9 digits of ns
    this.line.set(tid, sec, 1_000_000_000n, nd <= 6 ? frac * 1000 : frac * 10 ** (9 - nd), true);
    return p + 1;
  }
}

/**
 * The lookup of event names: a table indexed by the top bits of the name's hash times a multiplier
 * chosen so that every name of the event table has a slot of its own (a perfect hash, found when
 * the scanner is built); the name's bytes are then compared with the one entry there. No probe
 * chain, no map, and the index stays a small integer.
 */
interface NameSlots {
  readonly slots: readonly (Entry | undefined)[];
  readonly mult: number;
  readonly shift: number;
}

function nameSlots(entries: readonly Entry[]): NameSlots {
  // Each name hashed once, not once per multiplier tried (VT-d's table takes 25 tries at 8 bits:
  // ~1,400 hashes of its ~55 names, run cold in the interpreter, ~3-8 ms of every ingest)
  const hashes = Int32Array.from(entries, (x) => hashOf(x.name, 0, x.name.length));
  for (let bits = 8; bits <= 16; bits++) {
    for (let t = 0, mult = 0x9e3779b1 | 0; t < 256; t++, mult = (mult + 0x6a09e668) | 1) {
      const slots = new Array<Entry | undefined>(1 << bits).fill(undefined);
      const shift = 32 - bits;
      const free = entries.every((x, i) => {
        const k = Math.imul(hashes[i]!, mult) >>> shift;
        if (slots[k] !== undefined) return false;
        slots[k] = x;
        return true;
      });
      if (free) return { slots, mult, shift };
    }
  }
  throw new Error('qemu-bytes: no collision-free slot table for the event names');
}

const HALVES = new Uint32Array(2);
const WORD = new BigUint64Array(HALVES.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The 64-bit word of two 32-bit halves, as one BigInt (through a typed array: no BigInt arithmetic). */
function word64(hi: number, lo: number): bigint {
  HALVES[LITTLE_ENDIAN ? 0 : 1] = lo;
  HALVES[LITTLE_ENDIAN ? 1 : 0] = hi;
  return WORD[0]!;
}

/**
 * The last `{x:s}` tokens a matcher read, by their first byte's low 3 bits (type names such as
 * `wait`, `iotlb`, `device`, `iec` take slots of their own): the 8 bytes at the token's start as a
 * double (the token, what ended it and what follows), the token's string and its length (1-7).
 * Equal doubles are equal bytes (doublesOf: a token's first byte is printable, so no +0 / -0; a
 * NaN never matches), so the token is the same and ends at the same place.
 */
interface TokenCache {
  readonly bytes: Float64Array;
  readonly token: string[];
  readonly length: Int32Array;
}

const tokenCache = (): TokenCache => ({
  bytes: new Float64Array(8).fill(NaN),
  token: new Array<string>(8).fill(''),
  length: new Int32Array(8),
});

/**
 * The code that reads a run of hex digits at `p` (up to `end`), 4 bytes at a time while 4 are left
 * (`dv`: unaligned little-endian reads). Per byte b of a word: a digit when b & 0x7f is in 0x30-0x39,
 * a letter when (b & 0x7f) | 0x20 is in 0x61-0x66 (the carries of the adds set bit 7 at those
 * bounds, none crosses a byte), and b < 0x80: the byte loop's set. A byte's value is its low nibble,
 * plus 9 when bit 6 is set (a letter); two nibbles to a byte, then the four digits as one 16-bit
 * number `n`, the first digit highest. `four(n)` adds 4 digits to the value, `some(n, sh)` the
 * first `sh` / 4 (1-3) when the run ends inside the word (`sh` the name of the shift, 4, 8 or 12:
 * one computation for the three, so that every operation in it has run, and left feedback, by the
 * time TurboFan compiles the matcher; with a branch per count, a count first seen after that made
 * the matcher bail out, as both SMMUv3 range matchers did in every run), `one` (with `d`) a digit
 * of the last 0-3 bytes; undefined: only the run is found (values not read).
 */
function hexRun(four: ((n: string) => string) | undefined, some: ((n: string, sh: string) => string) | undefined, one: string): string[] {
  const byOne = `while (p < end) { c = buf[p]; d = c - 48; if (d < 0 || d > 9) { d = (c | 32) - 87; if (d < 10 || d > 15) break; } ${one} p++; }`;
  const n =
    four === undefined
      ? ''
      : 'const v = ((w & 0x0f0f0f0f) + 9 * ((w >>> 6) & 0x01010101)) & 0x0f0f0f0f; const t = ((v << 4) | (v >>> 8)) & 0x00ff00ff; const n = ((t & 0xff) << 8) | (t >>> 16);';
  const partial = some === undefined ? '' : `if (k !== 0) { const sh = k << 2; ${some('(n >>> (16 - sh))', 'sh')} }`;
  return [
    'for (;;) {',
    `  if (end - p < 4) { ${byOne} break; }`,
    '  const w = dv.getUint32(p, true); const a = w & 0x7f7f7f7f; const l = a | 0x20202020;',
    '  const nh = (~(((a + 0x50505050) & ~(a + 0x46464646)) | ((l + 0x1f1f1f1f) & ~(l + 0x19191919))) | w) & 0x80808080;',
    `  ${n}`,
    `  if (nh === 0) { ${four === undefined ? '' : four('n')} p += 4; continue; }`,
    `  const k = (31 - Math.clz32(nh & -nh)) >> 3; ${partial} p += k; break;`,
    '}',
  ];
}

/**
 * A matcher's literal `lit` from `p` on a line whose arguments end (`end`) before it does: compared
 * byte by byte, what `def` holds for the byte where the line ends (DEFINITE or NO_MATCH, see
 * `generate`), or NO_MATCH at a byte that differs.
 */
function literalTail(buf: Buffer, p: number, end: number, lit: Uint8Array, def: Uint8Array): number {
  for (let k = 0; ; k++, p++) {
    if (p >= end) return def[k]!;
    if (buf[p] !== lit[k]) return NO_MATCH;
  }
}

/** A template's matcher for one event name: the event (HIT in register mode), DEFINITE or NO_MATCH (see `generate`). */
type Generated = (
  buf: Buffer,
  s: number,
  e: number,
  dv: DataView,
) => Record<string, unknown> | typeof NO_MATCH | typeof DEFINITE | typeof HIT;

/**
 * Generates the matcher of one template for one event name: straight-line code that matches the
 * arguments `buf[s, e)` in canonical spelling and returns the event as one object literal (its
 * fields, `event`, and `spelling` for an older name), or DEFINITE when the input ends before the
 * template does with only number fields read (no spelling could match), or NO_MATCH (let the text
 * path decide). Without `values`, the same checks run but no number is converted and no string
 * interned, and the event is one shared (frozen) object without its fields, as is an event of a
 * template without fields. With a register `layout`, a match writes the fields into `R` / `S` instead
 * (a 64-bit hex field as its two halves, no BigInt; the event's fields this template lacks as NaN /
 * undefined) and returns HIT. Generated once per template and name when the scanner is built.
 */
function generate(
  m: Matcher,
  key: string,
  spelling: string | undefined,
  values = true,
  layout?: ReadonlyMap<string, { readonly at: number; readonly kind: Kind }>,
  R?: Float64Array,
  S?: (string | undefined)[],
): Generated {
  const regs = layout !== undefined;
  /** `code` when the values are wanted, else nothing. */
  const val = (code: string) => (values ? code : '');
  const consts: Uint8Array[] = [];
  const tokens: TokenCache[] = [];
  /** Declarations of the function that makes the matcher (what the matcher reads from its closure). */
  const outer: string[] = [];
  const lines: string[] = [
    'let p = s;',
    'while (p < e && buf[p] === 32) p++;', // ^\s*
    'let end = e;',
    'while (end > p) { const t = buf[end - 1]; if (t === 32 || t === 9) end--; else break; }', // \s*$
    'let c = 0;',
    'let d = 0;',
  ];
  const fields: string[] = [];
  let plain = true; // only number fields so far: running out of input is DEFINITE
  m.ops.forEach((op, i) => {
    if (op.k === LIT) {
      const lit = op.lit;
      // DEFINITE only when what is left of the literal needs a character (not just blanks)
      const last = plain ? lit.findLastIndex((x) => x !== 32) : -1;
      const def = Uint8Array.from(lit, (_, k) => (k <= last ? DEFINITE : NO_MATCH));
      consts.push(lit, def);
      const L = `K[${consts.length - 2}]`;
      const D = `K[${consts.length - 1}]`;
      // Whole literal in the input: its bytes compared as constants (`dv` is the block's DataView),
      // 8 at a time as doubles when it has 8 or more (doublesOf: the last read ends at its end),
      // else 4 at a time and the last 0-3 one by one; else (the line ends inside it: rare) byte by
      // byte up to the end, in `literalTail`, out of the matcher (less source to parse, a smaller
      // graph for TurboFan, which never sees that call run and so does not inline it).
      const same: string[] = [];
      if (lit.length >= 8) {
        const d = doublesOf(lit);
        d.forEach((x, j) => same.push(`dv.getFloat64(p + ${j < d.length - 1 ? 8 * j : lit.length - 8}, true) === ${x}`));
      } else {
        let k = 0;
        for (; k + 4 <= lit.length; k += 4) same.push(`dv.getUint32(p + ${k}, true) === ${word32(lit, k)}`);
        for (; k < lit.length; k++) same.push(`buf[p + ${k}] === ${lit[k]}`);
      }
      lines.push(
        `if (end - p >= ${lit.length}) { if (!(${same.join(' && ')})) return ${NO_MATCH}; p += ${lit.length}; }`,
        `else return LT(buf, p, end, ${L}, ${D});`,
      );
      return;
    }
    const v = `v${i}`;
    const f0 = `f${i}`;
    lines.push(`if (p >= end) return ${plain ? DEFINITE : NO_MATCH};`, `const ${f0} = p;`);
    switch (op.k) {
      case KIND_CODE.u:
      case KIND_CODE.i:
        lines.push(
          `let ${v} = 0;`,
          op.k === KIND_CODE.i ? `const n${i} = buf[p] === 45; if (n${i}) p++;` : `const n${i} = false;`,
          `const d${i} = p;`,
          `while (p < end) { c = buf[p]; if (c < 48 || c > 57) break; ${val(`${v} = ${v} * 10 + (c - 48);`)} p++; }`,
          `if (p === d${i} || p - d${i} > 15) return ${NO_MATCH};`,
          val(`if (n${i}) ${v} = -${v};`),
        );
        break;
      case KIND_CODE.x:
        lines.push(
          `let ${v} = 0;`,
          ...hexRun(
            values ? (n) => `${v} = ${v} * 65536 + ${n};` : undefined,
            values ? (n, sh) => `${v} = ${v} * (1 << ${sh}) + ${n};` : undefined,
            `${v} = ${v} * 16 + d;`,
          ),
          `if (p === ${f0} || p - ${f0} > 13) return ${NO_MATCH};`,
        );
        break;
      case KIND_CODE.X:
        if (!values) {
          lines.push(...hexRun(undefined, undefined, ''), `if (p === ${f0} || p - ${f0} > 16) return ${NO_MATCH};`);
          break;
        }
        // Up to 16 digits as two 32-bit halves (h: the digits before the last 8); one BigInt made.
        lines.push(
          `let h${i} = 0; let l${i} = 0;`,
          ...hexRun(
            (n) => `h${i} = ((h${i} << 16) | (l${i} >>> 16)) >>> 0; l${i} = ((l${i} << 16) | ${n}) >>> 0;`,
            (n, sh) => `h${i} = ((h${i} << ${sh}) | (l${i} >>> (32 - ${sh}))) >>> 0; l${i} = ((l${i} << ${sh}) | ${n}) >>> 0;`,
            `h${i} = ((h${i} << 4) | (l${i} >>> 28)) >>> 0; l${i} = ((l${i} << 4) | d) >>> 0;`,
          ),
          `if (p === ${f0} || p - ${f0} > 16) return ${NO_MATCH};`,
          regs ? '' : `const ${v} = h${i} === 0 ? BigInt(l${i}) : W(h${i}, l${i});`,
        );
        break;
      case KIND_CODE.b:
        lines.push(
          `c = buf[p]; if (c !== 48 && c !== 49) return ${NO_MATCH};`,
          'p++;',
          val(regs ? `const ${v} = c === 49 ? 1 : 0;` : `const ${v} = c === 49;`),
        );
        break;
      case KIND_CODE.s: {
        const scan = [`while (p < end) { c = buf[p]; if (c <= 32 || c >= 127) break; p++; }`, `if (p === ${f0}) return ${NO_MATCH};`];
        if (!values) {
          lines.push(...scan);
          plain = false;
          break;
        }
        // The token and the 8 - n bytes after it, compared as a double with the ones last seen
        // with the same first byte (tokenCache); else scanned and interned.
        // (No double kept in a variable across the branches: TurboFan boxed it, a heap number a line.)
        tokens.push(tokenCache());
        const t = tokens.length - 1;
        outer.push(`const TB${t} = T[${t}].bytes, TS${t} = T[${t}].token, TL${t} = T[${t}].length;`);
        lines.push(
          `let ${v};`,
          `const k${i} = buf[p] & 7;`,
          `if (end - p >= 8 && dv.getFloat64(p, true) === TB${t}[k${i}]) { ${v} = TS${t}[k${i}]; p += TL${t}[k${i}]; }`,
          `else { ${scan.join(' ')} ${v} = I.get(buf, ${f0}, p); if (p - ${f0} < 8 && end - ${f0} >= 8) { TB${t}[k${i}] = dv.getFloat64(${f0}, true); TS${t}[k${i}] = ${v}; TL${t}[k${i}] = p - ${f0}; } }`,
        );
        plain = false;
        break;
      }
      default:
        throw new Error(`qemu-bytes: no fast form for kind ${op.k}`);
    }
    if (values) fields.push(`${JSON.stringify(op.name)}: ${v}`);
  });
  // The text parser's object: the fields, then `event`, then `spelling` for an older name.
  fields.push(`event: ${JSON.stringify(key)}`);
  if (spelling !== undefined) fields.push(`spelling: ${JSON.stringify(spelling)}`);
  // An event without fields (or whose fields are not read) is one shared object.
  const shared = !values || m.ops.every((op) => op.k === LIT);
  lines.push(`if (p !== end) return ${NO_MATCH};`);
  if (regs) {
    if (values) {
      const own = new Map(m.ops.map((op, i) => [op.name, i]));
      for (const [name, r] of layout) {
        const i = own.get(name);
        if (r.kind === 'X')
          lines.push(i === undefined ? `R[${r.at}] = NaN; R[${r.at + 1}] = NaN;` : `R[${r.at}] = h${i}; R[${r.at + 1}] = l${i};`);
        else if (r.kind === 's' || r.kind === 'r') lines.push(`S[${r.at}] = ${i === undefined ? 'undefined' : `v${i}`};`);
        else lines.push(`R[${r.at}] = ${i === undefined ? 'NaN' : `v${i}`};`);
      }
    }
    lines.push(`return ${HIT};`);
  } else lines.push(shared ? 'return EVENT;' : `return { ${fields.join(', ')} };`);
  // Named after its event (and spelling) and given a source URL, so that a profile tells the
  // matchers apart (unnamed, they all show as `match` at line 3 of an anonymous script). The
  // function is returned in parentheses, which V8 takes as a sign that it is called soon and
  // compiles with the outer one: its source is parsed once, not preparsed by `new Function` and
  // parsed again at the first line of its event.
  const name = `match_${(spelling ?? key).replace(/[^A-Za-z0-9_]/g, '_')}`;
  const body = `${outer.join('\n')}\nreturn (function ${name}(buf, s, e, dv) {\n${lines.join('\n')}\n});\n//# sourceURL=invtrace-qemu-matchers/${name}.js`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from the event tables only
  const make = new Function('K', 'I', 'EVENT', 'W', 'R', 'S', 'T', 'LT', body) as (
    k: Uint8Array[],
    i: Interner,
    event: Readonly<Record<string, unknown>>,
    w: typeof word64,
    r: Float64Array | undefined,
    s: (string | undefined)[] | undefined,
    t: TokenCache[],
    lt: typeof literalTail,
  ) => Generated;
  return make(
    consts,
    new Interner(),
    Object.freeze({ event: key, ...(spelling !== undefined ? { spelling } : {}) }),
    word64,
    R,
    S,
    tokens,
    literalTail,
  );
}
