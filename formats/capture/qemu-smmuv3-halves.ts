// An SMMUv3 command rebuilt on numbers (smmuv3-rebuild.ts's words and `known`, with no BigInt and no
// object per line): the decoded-field events QEMU printed about it are kept as numeric records
// (`DetailRecords`), and each field they tell is placed, as 32-bit halves, at the bit positions the
// codec table gives it (formats/codecs.ts SMMUV3: `Smmuv3Halves`), its bits marked known. Only the
// common case is rebuilt here: anything smmuv3-rebuild.ts would report (a value that does not fit,
// range chunks that disagree, an unhandled command, an opcode QEMU names but the table lacks, ...)
// or that this code does not read (CFGI_STE_RANGE) answers false, and the caller rebuilds that
// command with smmuv3-rebuild.ts from the records made into events (`DetailRecords.events`).

import type { CompiledField } from '../codec/codec.js';
import { SMMUV3 } from '../codecs.js';
import type { Smmuv3QemuEvent } from './qemu-smmuv3.js';
import { unsigned64 } from './stamp.js';
import { VA_RANGE_OPS, type DetailLine } from './smmuv3-rebuild.js';

/** The fields QEMU's events tell (smmuv3-rebuild.ts `tell`), by index. */
export const FIELD = { SID: 0, VMID: 1, ASID: 2, ADDR: 3, LEAF: 4, TG: 5, TTL: 6, NUM: 7, SCALE: 8 } as const;
const FIELD_NAMES = Object.keys(FIELD);

/** One part of a field: value bits [at, at + width) go to bits [lo, lo + width) of word `w`. */
interface Part {
  readonly w: number;
  readonly lo: number;
  readonly width: number;
  readonly at: number;
}

/** Where a field of an op goes (from the codec's compiled field). */
interface Place {
  readonly parts: readonly Part[];
  /** An address: the value is kept in place (its bits must be in `fit`). */
  readonly addr: boolean;
  /** Bits the value may have, as halves (high, low). */
  readonly fitHi: number;
  readonly fitLo: number;
  /** The field's bits in the command, as halves [w0 low, w0 high, w1 low, w1 high]. */
  readonly bits: Uint32Array;
  /**
   * A field of one part within one half, not an address (all but ADDR): that half (an index of
   * `bits`), the part's low bit in it and the value's mask (ones of its width); else `half` -1.
   */
  readonly half: number;
  readonly shift: number;
  readonly mask: number;
}

const TWO32 = 0x100000000;
/** A high half below this makes a value below 2^53 (exact as a double). */
const SAFE_HI = 2 ** 21;
/** The low `n` bits (0-32) as a number. */
const ones = (n: number): number => (n >= 32 ? 0xffffffff : ((1 << n) - 1) >>> 0);

function placeOf(f: CompiledField): Place {
  const parts = f.parts.map((p) => ({ w: p.w, lo: Number(p.lo), width: p.mask.toString(2).length, at: Number(p.at) }));
  const bits = new Uint32Array(4);
  for (const p of parts) orBits(bits, p.w, p.lo, p.width, 0, 0xffffffff, 0xffffffff);
  const fit = f.addr ? f.inPlaceMask : (1n << BigInt(f.width)) - 1n;
  const p = parts[0]!;
  const oneHalf = !f.addr && parts.length === 1 && p.at === 0 && p.width <= 32 - (p.lo & 31);
  return {
    parts,
    addr: f.addr,
    fitHi: Number(fit >> 32n) >>> 0,
    fitLo: Number(fit & 0xffffffffn) >>> 0,
    bits,
    half: oneHalf ? 2 * p.w + (p.lo >= 32 ? 1 : 0) : -1,
    shift: p.lo & 31,
    mask: ones(p.width),
  };
}

/**
 * ORs value bits [at, at + width) of (vHi, vLo) into bits [lo, lo + width) of word `w` of `h`
 * (halves [w0 low, w0 high, w1 low, w1 high]), a run at a time that crosses no 32-bit boundary.
 */
function orBits(h: Uint32Array, w: number, lo: number, width: number, at: number, vHi: number, vLo: number): void {
  for (let done = 0; done < width;) {
    const src = at + done;
    const dst = lo + done;
    const n = Math.min(width - done, 32 - (src & 31), 32 - (dst & 31));
    const run = (((src >= 32 ? vHi : vLo) >>> (src & 31)) & ones(n)) >>> 0;
    h[2 * w + (dst >= 32 ? 1 : 0)]! |= run << (dst & 31); // n <= 32 - (dst & 31): no bit lost
    done += n;
  }
}

/** The opcode's parts (table.opcode), as `orBits` takes them. */
const OPCODE_PARTS: readonly Part[] = (() => {
  let at = 0;
  return SMMUV3.table.opcode.map((r) => {
    const p = { w: r.w, lo: r.lo, width: r.hi - r.lo + 1, at };
    at += p.width;
    return p;
  });
})();

/** What an op starts from: its opcode's bits (words and known, as halves), and its fields QEMU tells by FIELD index. */
interface OpStart {
  readonly words: Uint32Array;
  readonly known: Uint32Array;
  readonly places: readonly (Place | undefined)[];
  /** Whether a field's bits meet the opcode's (`opcodeKept` then checks them). */
  readonly overlap: boolean;
}

/** Per opcode (0-255); undefined for an opcode the table lacks. */
const OPS: readonly (OpStart | undefined)[] = (() => {
  const out = new Array<OpStart | undefined>(256).fill(undefined);
  for (const op of SMMUV3.ops) {
    const words = new Uint32Array(4);
    const known = new Uint32Array(4);
    for (const p of OPCODE_PARTS) {
      orBits(words, p.w, p.lo, p.width, p.at, 0, op.def.code);
      orBits(known, p.w, p.lo, p.width, p.at, 0xffffffff, 0xffffffff);
    }
    const places = FIELD_NAMES.map((name) => {
      const f = op.fields.find((x) => x.name === name);
      return f && placeOf(f);
    });
    const overlap = places.some((p) => p !== undefined && p.bits.some((b, i) => (b & known[i]!) !== 0));
    out[op.def.code] = { words, known, places, overlap };
  }
  return out;
})();

/** The words and known bits of one command, as halves [w0 low, w0 high, w1 low, w1 high]. */
export class Smmuv3Halves {
  readonly words = new Uint32Array(4);
  readonly known = new Uint32Array(4);
  private places: readonly (Place | undefined)[] = [];
  private code = 0;
  private overlap = false;

  /** Starts opcode `code` (0-255): its bits set and known. False: no table row (not rebuilt here). */
  begin(code: number): boolean {
    const op = OPS[code];
    if (op === undefined) return false;
    this.places = op.places;
    this.code = code;
    this.overlap = op.overlap;
    const w = this.words;
    const k = this.known;
    const ow = op.words;
    const ok = op.known;
    w[0] = ow[0]!;
    w[1] = ow[1]!;
    w[2] = ow[2]!;
    w[3] = ow[3]!;
    k[0] = ok[0]!;
    k[1] = ok[1]!;
    k[2] = ok[2]!;
    k[3] = ok[3]!;
    return true;
  }

  /**
   * Field `field` (FIELD) of the op takes the value `v` (a non-negative integer below 2^53, or -1
   * as `value` of halves: see `tellHalves`), its bits known when `known`. A field the op lacks is
   * passed over. False when the value does not fit the field (the encoder refuses it).
   */
  tell(field: number, v: number, known = true): boolean {
    if (v >>> 0 === v) return this.tellHalves(field, 0, v, known); // most: below 2^32
    if (!(v >= 0) || v > Number.MAX_SAFE_INTEGER || !Number.isInteger(v)) return this.places[field] === undefined;
    return this.tellHalves(field, Math.floor(v / TWO32), v >>> 0, known);
  }

  /** `tell` of a 64-bit value as its halves. */
  tellHalves(field: number, vHi: number, vLo: number, known = true): boolean {
    const p = this.places[field];
    if (p === undefined) return true;
    const k = p.half;
    if (k >= 0) {
      const m = p.mask;
      if (vHi !== 0 || (vLo & ~m) !== 0) return false;
      this.words[k]! |= vLo << p.shift;
      if (known) this.known[k]! |= m << p.shift;
      return true;
    }
    if ((vHi & ~p.fitHi) !== 0 || (vLo & ~p.fitLo) !== 0) return false;
    const h = this.words;
    if (p.addr) {
      const w = p.parts[0]!.w;
      h[2 * w]! |= vLo;
      h[2 * w + 1]! |= vHi;
    } else for (const q of p.parts) orBits(h, q.w, q.lo, q.width, q.at, vHi, vLo);
    if (known) for (let i = 0; i < 4; i++) this.known[i]! |= p.bits[i]!;
    return true;
  }

  /** Whether the opcode bits still hold the op (a field placed over them makes the encoder refuse). */
  opcodeKept(): boolean {
    if (!this.overlap) return true;
    let v = 0;
    for (const p of OPCODE_PARTS) {
      const half = this.words[2 * p.w + (p.lo >= 32 ? 1 : 0)]!;
      v += ((half >>> (p.lo & 31)) & ones(p.width)) * 2 ** p.at;
    }
    return v === this.code;
  }
}

/** Kinds of detail record (the events smmuv3-rebuild.ts reads), and each one's event name. */
export const REC = { RANGE: 0, STE: 1, STE_RANGE: 2, CD: 3, NH: 4, NH_ASID: 5, S12_VMID: 6, UNHANDLED: 7, EVENT: 8 } as const;
/** Numbers per record: kind, line, then up to 9 values (NaN: not printed). */
const WIDTH = 11;

/**
 * The detail events of one command, in line order, as numbers: a record per event, its kind
 * (REC), line and values (a range chunk: vmid, asid, addr high, addr low, tg, num_pages high and
 * low, ttl, leaf; the others: their one or two values). An event parsed as text is kept as is
 * (REC.EVENT, the index of its object).
 */
export class DetailRecords {
  private rec = new Float64Array(8 * WIDTH);
  private readonly objects: Smmuv3QemuEvent[] = [];
  /** Records kept. */
  n = 0;
  /** Events kept as objects. */
  get hasEvents(): boolean {
    return this.objects.length > 0;
  }

  clear(): void {
    this.n = 0;
    if (this.objects.length > 0) this.objects.length = 0;
  }

  /** A new record of `kind` from `line`, its values NaN: where they go (`rec[at + i]`). */
  add(kind: number, line: number): number {
    if ((this.n + 1) * WIDTH > this.rec.length) {
      const r = new Float64Array(this.rec.length * 2);
      r.set(this.rec);
      this.rec = r;
    }
    const at = this.n++ * WIDTH;
    const r = this.rec;
    r[at] = kind;
    r[at + 1] = line;
    r.fill(NaN, at + 2, at + WIDTH);
    return at + 2;
  }

  /** The record array (`add`'s offsets index it). */
  get values(): Float64Array {
    return this.rec;
  }

  /** An event parsed as text, kept as its object. */
  event(e: Smmuv3QemuEvent, line: number): void {
    this.rec[this.add(REC.EVENT, line)] = this.objects.length;
    this.objects.push(e);
  }

  /** The records as the events smmuv3-rebuild.ts reads (numbers as a parsed line has them), in order. */
  events(): DetailLine[] {
    const out: DetailLine[] = [];
    const r = this.rec;
    for (let i = 0; i < this.n; i++) {
      const at = i * WIDTH;
      const line = r[at + 1]!;
      const v = at + 2;
      out.push({ ev: eventOf(r[at]!, r, v, this.objects), line });
    }
    return out;
  }

  /**
   * Rebuilds the command of opcode `code` into `h` from the records, as smmuv3-rebuild.ts does.
   * False when that would report a problem or this does not read the case (see the header).
   */
  rebuild(code: number, h: Smmuv3Halves): boolean {
    if (this.objects.length > 0 || !h.begin(code)) return false;
    if (this.n === 0) return true; // most CMD_SYNCs: the opcode alone
    const r = this.rec;
    let chunks = 0;
    for (let i = 0; i < this.n; i++) {
      const k = r[i * WIDTH]!;
      if (k === REC.UNHANDLED || k === REC.STE_RANGE) return false;
      if (k === REC.RANGE) chunks++;
    }
    if (chunks > 0 && VA_RANGE_OPS.has(code) && !this.range(code, h)) return false;
    let ok = true;
    switch (code) {
      case 0x03:
        ok = this.tellLast(h, REC.STE, FIELD.SID, false);
        break;
      case 0x05:
      case 0x06:
        ok = this.tellLast(h, REC.CD, FIELD.SID, false);
        break;
      case 0x10:
        ok = this.tellLast(h, REC.NH, FIELD.VMID, true);
        break;
      case 0x11:
        ok = this.tellLast(h, REC.NH_ASID, FIELD.ASID, true);
        break;
      case 0x28:
        ok = this.tellLast(h, REC.S12_VMID, FIELD.VMID, true);
        break;
      default:
    }
    return ok && h.opcodeKept();
  }

  /**
   * The value of the last record of `kind` tells `field` (a field told twice keeps its last value,
   * its bits known either way); `signed`: only a value >= 0 tells (QEMU prints -1 for none).
   */
  private tellLast(h: Smmuv3Halves, kind: number, field: number, signed: boolean): boolean {
    const r = this.rec;
    let last = -1;
    for (let i = 0; i < this.n; i++) {
      const at = i * WIDTH;
      if (r[at] === kind && (!signed || r[at + 2]! >= 0)) last = at + 2;
    }
    return last < 0 || h.tell(field, r[last]!);
  }

  /** smmuv3-rebuild.ts `rangeFields` on the RANGE records; false where it reports a problem. */
  private range(code: number, h: Smmuv3Halves): boolean {
    const r = this.rec;
    let f = -1;
    for (let i = 0; i < this.n; i++) {
      const at = i * WIDTH + 2;
      if (r[at - 2] !== REC.RANGE) continue;
      if (f < 0) f = at;
      // vmid, asid, tg, ttl, leaf as the first chunk's (NaN: not printed, equal to NaN). The first
      // chunk is compared with itself: these loads then run on every call, and a command's second
      // chunk, first seen after TurboFan compiled `range`, no longer makes it bail out.
      if (
        !same(r[at]!, r[f]!) ||
        !same(r[at + 1]!, r[f + 1]!) ||
        !same(r[at + 4]!, r[f + 4]!) ||
        !same(r[at + 7]!, r[f + 7]!) ||
        !same(r[at + 8]!, r[f + 8]!)
      )
        return false;
    }
    const vmid = r[f]!;
    const asid = r[f + 1]!;
    const aHi = r[f + 2]!;
    const aLo = r[f + 3]!;
    const tg = r[f + 4]!;
    const ttl = r[f + 7]!;
    const leaf = r[f + 8]!;
    if ((aLo & 0xfff) !== 0) return false;
    if (!h.tellHalves(FIELD.ADDR, aHi, aLo)) return false;
    if (vmid >= 0 && code !== 0x22 && code !== 0x23 && code !== 0x1a && !h.tell(FIELD.VMID, vmid)) return false;
    if (asid >= 0 && (code === 0x12 || code === 0x22) && !h.tell(FIELD.ASID, asid)) return false;
    if (leaf === leaf && !h.tell(FIELD.LEAF, leaf)) return false;
    if (tg !== tg) return true;
    if (!h.tell(FIELD.TG, tg)) return false;
    if (ttl === ttl && !h.tell(FIELD.TTL, ttl)) return false;
    if (tg === 0) return true; // not a range: NUM/SCALE are ignored and the log cannot tell them
    // Page count: the chunks must continue one another (exact in doubles below 2^53, else not here).
    const granule = 1 << (2 * tg + 10); // TG fits its 2 bits (told above): at most 2^16
    let next = aHi * TWO32 + aLo;
    let pages = 0;
    for (let i = 0; i < this.n; i++) {
      const at = i * WIDTH + 2;
      if (r[at - 2] !== REC.RANGE) continue;
      if (r[at + 2]! >= SAFE_HI || r[at + 5]! >= SAFE_HI) return false;
      const addr = r[at + 2]! * TWO32 + r[at + 3]!;
      const np = r[at + 5]! * TWO32 + r[at + 6]!;
      if (addr !== next || !(np > 0)) return false;
      pages += np;
      next += np * granule;
      if (!Number.isSafeInteger(next) || !Number.isSafeInteger(pages)) return false;
    }
    // (NUM+1) << SCALE = pages (smmuv3-rebuild.ts numScaleCandidates): unique, or Linux's choice unknown.
    let count = 0;
    let first = -1;
    let linux = -1;
    const tz = ctz(pages);
    for (let scale = 0, unit = 1; scale < 32; scale++, unit *= 2) {
      if (pages % unit !== 0) break;
      const n = pages / unit;
      if (n >= 1 && n <= 32) {
        count++;
        if (first < 0) first = scale;
        if (scale === tz) linux = scale;
      }
    }
    if (count === 0) return false;
    const scale = linux >= 0 ? linux : first;
    // pages / 2^scale is exact (a power of two that divides pages); without a loop, as `ctz`.
    const num = pages / 2 ** scale - 1;
    return h.tell(FIELD.NUM, num, count === 1) && h.tell(FIELD.SCALE, scale, count === 1);
  }
}

/** Equal values, or both not printed. */
const same = (a: number, b: number): boolean => a === b || (a !== a && b !== b);

/**
 * Trailing zero bits of a positive integer below 2^53 (0 for 0), from its 32-bit halves: no loop
 * whose body a first even count would run for the first time after TurboFan compiled `range`.
 */
function ctz(v: number): number {
  if (v === 0) return 0;
  const lo = v % TWO32;
  const x = lo !== 0 ? lo : (v - lo) / TWO32;
  return (lo !== 0 ? 31 : 63) - Math.clz32(x & -x);
}

/** A record as the event a parsed line makes (the fields smmuv3-rebuild.ts reads; NaN left out). */
function eventOf(kind: number, r: Float64Array, v: number, objects: readonly Smmuv3QemuEvent[]): Smmuv3QemuEvent {
  switch (kind) {
    case REC.RANGE: {
      const e: Record<string, unknown> = { event: 'smmuv3_range_inval', vmid: r[v], addr: unsigned64(r[v + 2]!, r[v + 3]!) };
      if (r[v + 1] === r[v + 1]) e.asid = r[v + 1];
      if (r[v + 4] === r[v + 4]) e.tg = r[v + 4];
      if (r[v + 5] === r[v + 5]) e.numPages = unsigned64(r[v + 5]!, r[v + 6]!);
      if (r[v + 7] === r[v + 7]) e.ttl = r[v + 7];
      if (r[v + 8] === r[v + 8]) e.leaf = r[v + 8] === 1;
      return e as Smmuv3QemuEvent;
    }
    case REC.STE:
      return { event: 'smmuv3_cmdq_cfgi_ste', streamid: r[v]! };
    case REC.STE_RANGE:
      return { event: 'smmuv3_cmdq_cfgi_ste_range', start: r[v]!, end: r[v + 1]! };
    case REC.CD:
      return { event: 'smmuv3_cmdq_cfgi_cd', sid: r[v]! };
    case REC.NH:
      return r[v] === r[v] ? { event: 'smmuv3_cmdq_tlbi_nh', vmid: r[v]! } : { event: 'smmuv3_cmdq_tlbi_nh' };
    case REC.NH_ASID:
      return { event: 'smmuv3_cmdq_tlbi_nh_asid', asid: r[v]! };
    case REC.S12_VMID:
      return { event: 'smmuv3_cmdq_tlbi_s12_vmid', vmid: r[v]! };
    case REC.UNHANDLED:
      return { event: 'smmuv3_unhandled_cmd', type: r[v]! };
    default:
      return objects[r[v]!]!;
  }
}
