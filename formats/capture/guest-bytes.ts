// Guest ftrace lines parsed straight from the bytes of a block (formats/lines.ts readLineChunks),
// with no string, regular expression or object per field: the ftrace prefix (ftrace.ts FTRACE_LINE),
// then the payload of the two events the guest side reads, `qi_submit` (VT-d, ftrace.ts
// parseQiSubmit) and the `cmdlist` kprobe (SMMUv3, ftrace.ts parseCmdList).
//
// This is a fast path, never a second grammar (like qemu-bytes.ts for the QEMU side): it accepts
// only the canonical spelling the kernel prints (printable ASCII, blanks that are spaces, no TGID
// column, the event name ended by its colon, a known qi_submit type name that agrees with qw0[3:0],
// cmdlist fields `n`, `sync`, then `cK_0 cK_1` in order, numbers short enough to be exact), which
// the text parser's regular expressions accept with the same values. Every other line answers
// FALLBACK and is parsed as text by ftrace.ts, which words the errors. Where the text parser's
// regular expression could choose differently by backtracking (a second `-` in the task name, a
// token of flag length that is not followed by a timestamp), the line falls back too.

import type { CmdList } from './ftrace.js';
import { QI_TYPE_NAMES } from './ftrace.js';
import { ascii, hexVal, Interner, isDigit } from './line-bytes.js';
import { lowBits } from './low-bits.js';
import { DOUBLE_FIELD } from './stamp.js';

/** An ftrace event line read from bytes; what the guest queues need, nothing more (no task name). */
export interface ScannedFtrace {
  /** Discriminates from GuestLine (guest-trace.ts), whose `ftrace` is the text parser's line. */
  readonly ftrace: undefined;
  readonly no: number;
  readonly pid: number;
  readonly cpu: number;
  readonly flags: string;
  /** Trace clock in ns: exact as a number (the scanner declines beyond 2^53 ns, 104 days). */
  readonly ts: number;
  readonly event: string;
  /** qi_submit: qw0..qw3. */
  readonly qi: readonly bigint[] | undefined;
  /** cmdlist: the batch, as parseCmdList gives it. */
  readonly cmdlist: CmdList | undefined;
  /**
   * A numeric scanner's (`new GuestByteScanner(true)`, which leaves `qi` and `cmdlist` undefined)
   * words, no BigInt made: qi_submit 4, cmdlist 2 per real command (min(n, recorded)), -1 for
   * another event. Their 32-bit halves are in `halves` (word i: low half at 2i, high half at 2i + 1).
   */
  readonly words: number;
  readonly halves: Uint32Array;
  /** A numeric scanner's cmdlist: `n`, `sync` and the pairs recorded (parseCmdList's fields). */
  readonly n: number;
  readonly sync: boolean;
  readonly recorded: number;
}

/** The scanner cannot decide this line: parse it as text. */
export const FALLBACK = undefined;

const SP = 32;
/** `[\w:.]` of a regular expression without the u flag, by byte. */
const EVENT_CHAR = Uint8Array.from({ length: 256 }, (_, c) =>
  isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 58 || c === 46 ? 1 : 0,
);
/** ns per unit of the k-th fraction digit count: 10^(9 - k). */
const FRACTION_SCALE = Array.from({ length: 10 }, (_, k) => 10 ** (9 - k));
const QI_SUBMIT = ascii('qi_submit');
const CMDLIST = ascii('cmdlist');
/** Seconds of the trace clock beyond which ns would not be exact as a number. */
const MAX_SECONDS = Math.floor(Number.MAX_SAFE_INTEGER / 1e9) - 1;
/** Small BigInts made once (most qwords the tracepoints print are 0 or a few bits). */
const SMALL = Array.from({ length: 256 }, (_, i) => BigInt(i));

/**
 * The end of the token at `p`: printable ASCII other than a space (what `\S` takes as one character
 * each), up to a space or the end of the line; -1 when another byte (a tab, UTF-8) comes first.
 */
function token(buf: Buffer, p: number, e: number): number {
  while (p < e) {
    const c = buf[p]!;
    if (c === SP) return p;
    if (c < 33 || c > 126) return -1;
    p++;
  }
  return p;
}

function same(buf: Buffer, s: number, e: number, want: Uint8Array): boolean {
  if (e - s !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (buf[s + i] !== want[i]) return false;
  return true;
}

/** Decimal digits at `p` (at most `max`): their value, with the end in `pos.p`; -1 when none or too many. */
function digits(buf: Buffer, p: number, e: number, max: number, pos: { p: number }): number {
  let v = 0;
  const p0 = p;
  while (p < e && isDigit(buf[p]!)) v = v * 10 + (buf[p++]! - 48);
  pos.p = p;
  return p === p0 || p - p0 > max ? -1 : v;
}

/**
 * `0x` and 1..16 hex digits in `buf[s, e)` as parseU64 reads them (which any such token is, and
 * qword in ftrace.ts for 13 digits or fewer); undefined otherwise.
 */
function hex64(buf: Buffer, s: number, e: number): bigint | undefined {
  const n = e - s - 2;
  if (n < 1 || n > 16 || buf[s] !== 48 || (buf[s + 1]! | 32) !== 120) return undefined;
  let hi = 0;
  let lo = 0;
  const split = e - Math.min(n, 8); // the last 8 digits go to `lo`
  for (let p = s + 2; p < e; p++) {
    const d = hexVal(buf[p]!);
    if (d < 0) return undefined;
    if (p < split) hi = hi * 16 + d;
    else lo = lo * 16 + d;
  }
  if (hi === 0) return lo < 256 ? SMALL[lo]! : BigInt(lo);
  return n <= 13 ? BigInt(hi * 2 ** 32 + lo) : (BigInt(hi) << 32n) | BigInt(lo);
}

/**
 * `hex64` as 32-bit halves, with the token walked once: the token at `s` (up to a blank or `e`),
 * `0x` and 1..16 hex digits, into `out[at]` (bits 31..0) and `out[at + 1]` (bits 63..32); its end,
 * or -1 for any other token (a byte other than a hex digit before the blank, a tab or UTF-8
 * included, refuses it as `token` would); `out` is written only on success.
 */
function hexWord(buf: Buffer, s: number, e: number, out: Uint32Array, at: number): number {
  if (e - s < 3 || buf[s] !== 48 || (buf[s + 1]! | 32) !== 120) return -1;
  let hi = 0;
  let lo = 0;
  let p = s + 2;
  for (; p < e; p++) {
    const c = buf[p]!;
    if (c === SP) break;
    const d = hexVal(c);
    if (d < 0) return -1;
    hi = (hi << 4) | (lo >>> 28); // the digits before the last 8 (n <= 16: no bit lost)
    lo = (lo << 4) | d;
  }
  const n = p - s - 2;
  if (n < 1 || n > 16) return -1;
  out[at] = lo;
  out[at + 1] = hi;
  return p;
}

/** Slots of the scanner's flags cache (a prime: the packed bytes differ in their low digits). */
const FLAG_SLOTS = 61;

/** Halves a record holds at first (a qi_submit's 4 words; a cmdlist of more real pairs grows them). */
const FIRST_HALVES = 8;

/**
 * Reads canonical guest ftrace lines from bytes; one per guest side (its interned strings).
 * `numeric`: the words go into each record's `halves` (no BigInt, no CmdList), for a reader that
 * writes rows from numbers (guest-rows.ts); the lines it accepts and declines are the same.
 */
export class GuestByteScanner {
  constructor(private readonly numeric = false) {}

  private readonly strings = new Interner();
  /**
   * The records `scan` hands out, reused from block to block: a reader keeps nothing of a block
   * once the next is asked for (guest-trace.ts readGuestChunks), so `newBlock` lets the next block
   * fill them again instead of making an object per line (docs/ingest.md, "Thirteenth pass").
   */
  private readonly records: Mutable<ScannedFtrace>[] = [];
  private used = 0;
  private readonly pos = { p: 0 };
  private readonly types: readonly { name: Uint8Array; code: number }[] = Object.entries(QI_TYPE_NAMES).map(([name, code]) => ({
    name: ascii(name),
    code,
  }));

  /**
   * Can the lines of this block be read from their bytes? Not when it holds a character the text
   * parser's `.` refuses anywhere in a line (`\r`, U+2028, U+2029): such a line is no ftrace line
   * to it. Native byte searches per block (`\r`, then each E2 lead byte) instead of a test per byte.
   */
  /** A new block: the records handed out for the last one are filled again. */
  newBlock(): void {
    this.used = 0;
  }

  usable(buf: Buffer, ends?: Int32Array, count = 0): boolean {
    // Offsets given as numbers (0), as lines.ts gives them: node's indexOf, compiled for the QEMU
    // side's number offsets, deoptimized at an undefined one ("not a Smi") and was compiled again.
    if (ends === undefined) {
      if (buf.indexOf(13, 0) >= 0) return false;
    } else if (!this.crOnlyAtEnds(buf, ends, count)) return false;
    // U+2028 and U+2029 are E2 80 A8 and E2 80 A9 in UTF-8: each E2 is found by a byte search
    // (memchr) and its next two bytes are looked at. Searching for the 3-byte sequences themselves
    // took Buffer#indexOf ~8 ns per byte, most of a cold pass over a guest trace.
    for (let i = buf.indexOf(0xe2, 0); i >= 0; i = buf.indexOf(0xe2, i + 1)) {
      if (buf[i + 1] === 0x80 && (buf[i + 2] === 0xa8 || buf[i + 2] === 0xa9)) return false;
    }
    return true;
  }

  /**
   * Is every `\r` of the block's lines (line k ends before `ends[k]`, in order) outside them: the
   * `\r` of a `\r\n` line end, which lines.ts leaves out of the line (a serial console's)? A `\r`
   * at a line's end index is not in that line nor the next; one at or past the last line's end is
   * in none. One `\r` search and a walk over the ends: a console of CRLF lines is read from bytes too.
   */
  private crOnlyAtEnds(buf: Buffer, ends: Int32Array, count: number): boolean {
    if (count === 0) return true;
    const last = ends[count - 1]!;
    let k = 0;
    for (let i = buf.indexOf(13, 0); i >= 0 && i < last; i = buf.indexOf(13, i + 1)) {
      while (ends[k]! < i) k++;
      if (ends[k] !== i) return false;
    }
    return true;
  }

  /**
   * Line `no` = `buf[s, e)` of a `usable` block: the event, or FALLBACK. The parts the queues read
   * are matched byte by byte; the fields between them (the task name, another event's text) may
   * hold any character the text parser's `.` takes.
   */
  scan(buf: Buffer, s: number, e: number, no: number): ScannedFtrace | undefined {
    let p = s;
    while (p < e && buf[p] === SP) p++; // ^\s*
    // (.*?)-(\d+)\s+ : the first `-` followed by a digit (the lazy task ends there if the rest matches)
    while (p < e && !(buf[p] === 45 && isDigit(buf[p + 1] ?? 0))) p++;
    if (p >= e) return FALLBACK;
    const pos = this.pos;
    const pid = digits(buf, p + 1, e, 9, pos);
    p = pos.p;
    if (pid < 0 || buf[p] !== SP) return FALLBACK;
    while (p < e && buf[p] === SP) p++;
    // \[(\d+)\]\s+ (no TGID column)
    if (buf[p] !== 91) return FALLBACK;
    const cpu = digits(buf, p + 1, e, 6, pos);
    p = pos.p;
    if (cpu < 0 || buf[p] !== 93 || buf[p + 1] !== SP) return FALLBACK;
    p++;
    while (p < e && buf[p] === SP) p++;
    // (?:(\S{4,6})\s+)? : a token of 4..6 characters followed by a blank is the flags
    const t = token(buf, p, e);
    if (t < 0) return FALLBACK;
    let flags = '';
    if (t - p >= 4 && t - p <= 6 && t < e) {
      flags = this.flagsOf(buf, p, t);
      p = t;
      while (p < e && buf[p] === SP) p++;
    }
    // (\d+)\.(\d+):\s+ (the seconds, then the first 9 digits of the fraction padded to ns)
    const sec = digits(buf, p, e, 7, pos);
    p = pos.p;
    if (sec < 0 || sec > MAX_SECONDS || buf[p] !== 46) return FALLBACK;
    const f0 = p + 1;
    const frac = digits(buf, f0, e, 9, pos);
    p = pos.p;
    if (frac < 0 || buf[p] !== 58 || buf[p + 1] !== SP) return FALLBACK;
    const ts = sec * 1e9 + frac * FRACTION_SCALE[p - f0]!;
    p++;
    while (p < e && buf[p] === SP) p++;
    // ([\w:.]+):\s?(.*)$ : the run of name characters must end with its colon
    const n0 = p;
    while (p < e && EVENT_CHAR[buf[p]!] === 1) p++;
    if (p - n0 < 2 || buf[p - 1] !== 58) return FALLBACK;
    const n1 = p - 1;
    if (p < e && buf[p] === SP) p++;
    let qi: bigint[] | undefined;
    let cmdlist: CmdList | undefined;
    let event: string;
    let r = this.records[this.used];
    if (r === undefined) {
      r = {
        ftrace: undefined,
        no,
        pid,
        cpu,
        flags,
        // set below, as every field; a double from the start (stamp.ts DOUBLE_FIELD)
        ts: DOUBLE_FIELD,
        event: '',
        qi,
        cmdlist,
        words: -1,
        halves: new Uint32Array(FIRST_HALVES),
        n: 0,
        sync: false,
        recorded: 0,
      };
      this.records.push(r);
    }
    r.words = -1;
    if (same(buf, n0, n1, QI_SUBMIT)) {
      event = 'qi_submit';
      if (this.numeric) {
        if (!this.qiHalves(buf, p, e, r)) return FALLBACK;
      } else {
        qi = this.qiSubmit(buf, p, e);
        if (qi === undefined) return FALLBACK;
      }
    } else if (same(buf, n0, n1, CMDLIST)) {
      event = 'cmdlist';
      if (this.numeric) {
        if (this.cmdList(buf, p, e, r) === undefined) return FALLBACK;
      } else {
        cmdlist = this.cmdList(buf, p, e, undefined) as CmdList | undefined;
        if (cmdlist === undefined) return FALLBACK;
      }
    } else event = this.strings.get(buf, n0, n1);
    this.used++;
    r.no = no;
    r.pid = pid;
    r.cpu = cpu;
    r.flags = flags;
    r.ts = ts;
    r.event = event;
    r.qi = qi;
    r.cmdlist = cmdlist;
    return r;
  }

  /** Flags strings by their bytes packed into a number (4 to 6 printable ASCII bytes: below 2^48). */
  private readonly flagKeys = new Float64Array(FLAG_SLOTS).fill(-1);
  private readonly flagStrings: string[] = new Array<string>(FLAG_SLOTS).fill('');

  /**
   * The flags `buf[s, e)` as the interner gives them, kept by their packed bytes: the few values a
   * trace prints (`d..2.`, `d..3.`, `dN...`) share their length and last byte, which the
   * interner's recent slots are chosen by, and took its hashed path on most lines.
   */
  private flagsOf(buf: Buffer, s: number, e: number): string {
    let key = 0;
    for (let p = s; p < e; p++) key = key * 256 + buf[p]!;
    const slot = key % FLAG_SLOTS;
    if (this.flagKeys[slot] === key) return this.flagStrings[slot]!;
    const f = this.strings.get(buf, s, e);
    this.flagKeys[slot] = key;
    this.flagStrings[slot] = f;
    return f;
  }

  /**
   * The type code of `iotlb_inv dmar0: ...` at `p` (a known type name, its IOMMU name token ended by
   * a colon and a blank), with the first qword's blank at `pos.p`; -1 otherwise. `e`: the line's
   * end without trailing blanks.
   */
  private qiHead(buf: Buffer, p: number, e: number): number {
    let t = token(buf, p, e);
    let code = -1;
    for (const ty of this.types) {
      if (same(buf, p, t, ty.name)) {
        code = ty.code; // the names are distinct
        break;
      }
    }
    if (code < 0 || t >= e) return -1;
    p = t;
    while (p < e && buf[p] === SP) p++;
    // (\S+?):\s+ : the IOMMU name token ends with its only usable colon
    t = token(buf, p, e);
    if (t - p < 2 || buf[t - 1] !== 58 || t >= e) return -1;
    this.pos.p = t;
    return code;
  }

  /** `qiSubmit` into the record's halves (numeric). */
  private qiHalves(buf: Buffer, p: number, e: number, r: Mutable<ScannedFtrace>): boolean {
    while (e > p && buf[e - 1] === SP) e--; // \s*$
    const code = this.qiHead(buf, p, e);
    if (code < 0) return false;
    let t = this.pos.p;
    const h = r.halves;
    for (let w = 0; w < 4; w++) {
      p = t;
      if (buf[p] !== SP) return false;
      while (p < e && buf[p] === SP) p++;
      t = hexWord(buf, p, e, h, 2 * w);
      if (t < 0) return false;
    }
    if (t !== e) return false;
    if ((h[0]! & 15) !== code) return false; // the text parser words the mismatch
    r.words = 4;
    return true;
  }

  /** `iotlb_inv dmar0: 0x600f2 0xffff8000 0x0 0x0` with a known type name that agrees with qw0[3:0]. */
  private qiSubmit(buf: Buffer, p: number, e: number): bigint[] | undefined {
    while (e > p && buf[e - 1] === SP) e--; // \s*$
    const code = this.qiHead(buf, p, e);
    if (code < 0) return undefined;
    let t = this.pos.p;
    const words: bigint[] = [];
    for (let w = 0; w < 4; w++) {
      p = t;
      if (buf[p] !== SP) return undefined;
      while (p < e && buf[p] === SP) p++;
      t = token(buf, p, e);
      const v = hex64(buf, p, t);
      if (v === undefined) return undefined;
      words.push(v);
    }
    if (t !== e) return undefined;
    if (lowBits(words[0]!, 4) !== code) return undefined; // the text parser words the mismatch
    return words;
  }

  /**
   * `(arm_smmu_cmdq_issue_cmdlist+0x0/0x72c) n=1 sync=1 c0_0=0x4 c0_1=0x1f c1_0=...`: `n`, `sync`,
   * then the pairs in order, each field with a value; the first min(n, pairs) pairs 64-bit hex.
   * With a record `r` (numeric), the batch goes into its fields and halves, and the answer is true.
   */
  private cmdList(buf: Buffer, p: number, e: number, r: Mutable<ScannedFtrace> | undefined): CmdList | true | undefined {
    // ^\([^)]*\)\s*
    if (buf[p] === 40) {
      while (p < e && buf[p] !== 41) p++;
      if (p >= e) return undefined;
      p++;
      while (p < e && buf[p] === SP) p++;
    }
    const pos = this.pos;
    if (buf[p] !== 110 || buf[p + 1] !== 61) return undefined; // n=
    const n = digits(buf, p + 2, e, 9, pos);
    p = pos.p;
    if (n < 0 || buf[p] !== SP) return undefined;
    while (p < e && buf[p] === SP) p++;
    if (!same(buf, p, Math.min(p + 5, e), SYNC_EQ) || (buf[p + 5] !== 48 && buf[p + 5] !== 49)) return undefined; // sync=0|1
    const sync = buf[p + 5] === 49;
    p += 6;
    const cmds: [bigint, bigint][] | undefined = r === undefined ? [] : undefined;
    let recorded = 0;
    for (;;) {
      const t0 = p;
      while (p < e && buf[p] === SP) p++;
      if (p === e) break;
      if (p === t0) return undefined; // no blank before the field
      const real = recorded < n;
      const w0 = this.pairField(buf, p, e, recorded, 0, real, r);
      if (w0 === undefined) return undefined;
      p = this.pos.p;
      if (buf[p] !== SP) return undefined;
      while (p < e && buf[p] === SP) p++;
      const w1 = this.pairField(buf, p, e, recorded, 1, real, r);
      if (w1 === undefined) return undefined;
      p = this.pos.p;
      if (real && cmds !== undefined) cmds.push([w0 as bigint, w1 as bigint]);
      recorded++;
    }
    if (r === undefined) return { n, sync, cmds: cmds!, missing: n - cmds!.length, recorded };
    r.n = n;
    r.sync = sync;
    r.recorded = recorded;
    r.words = 2 * Math.min(n, recorded);
    return true;
  }

  /**
   * `c<k>_<half>=VALUE` at `p` (end in `pos.p`): the value as a 64-bit number when `real` (with a
   * record `r`, its halves written into r.halves as word 2k + half, and true), else true for any
   * value that is not empty (words past `n` are stack memory); undefined otherwise.
   */
  private pairField(
    buf: Buffer,
    p: number,
    e: number,
    k: number,
    half: number,
    real: boolean,
    r: Mutable<ScannedFtrace> | undefined,
  ): bigint | true | undefined {
    const pos = this.pos;
    if (buf[p] !== 99) return undefined; // c
    const d0 = p + 1;
    const kk = digits(buf, d0, e, 6, pos);
    p = pos.p;
    if (kk !== k || (buf[d0] === 48 && p - d0 > 1)) return undefined; // c<k>, spelt without a leading zero
    if (buf[p] !== 95 || buf[p + 1] !== 48 + half || buf[p + 2] !== 61) return undefined; // _<half>=
    const v0 = p + 3;
    if (real && r !== undefined) {
      const at = 2 * (2 * k + half);
      if (at + 2 > r.halves.length) r.halves = grown(r.halves, at + 2);
      pos.p = hexWord(buf, v0, e, r.halves, at);
      return pos.p < 0 ? undefined : true;
    }
    const t = token(buf, v0, e);
    pos.p = t;
    if (t <= v0) return undefined;
    if (!real) return true;
    return hex64(buf, v0, t);
  }
}

/** `h` in a larger array (twice, or `need`), its halves kept. */
function grown(h: Uint32Array, need: number): Uint32Array {
  const g = new Uint32Array(Math.max(need, 2 * h.length));
  g.set(h);
  return g;
}

const SYNC_EQ = ascii('sync=');

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
