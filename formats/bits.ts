// Bit-field primitives shared by both architectures' codecs: ranges as the specs print them
// (word, [hi:lo]), masks, hex formatting and parsing of 64-bit words.

/** Bits [hi:lo] of 64-bit word `w` (DW0/DW1 for SMMUv3, qw0..qw3 for VT-d). */
export interface BitRange {
  readonly w: number;
  readonly hi: number;
  readonly lo: number;
}

export const bits = (w: number, hi: number, lo = hi): BitRange => ({ w, hi, lo });

export const widthOf = (r: BitRange): number => r.hi - r.lo + 1;

/** The mask of a range, in place within its word. */
export function maskOf(r: BitRange): bigint {
  return ((1n << BigInt(widthOf(r))) - 1n) << BigInt(r.lo);
}

export const U64_MAX = (1n << 64n) - 1n;

/** Lower-case hex with 0x, no padding: how QEMU and ftrace print words. */
export function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

/** Range as the specs print it: `DW1[63:12]`, `qw0[4]`. */
export function rangeLabel(r: BitRange, wordName: (w: number) => string): string {
  return r.hi === r.lo ? `${wordName(r.w)}[${r.hi}]` : `${wordName(r.w)}[${r.hi}:${r.lo}]`;
}

/**
 * Parses an unsigned 64-bit word written as hex (`0x...`), or decimal digits. Returns undefined for
 * anything else or for a value that does not fit in 64 bits.
 */
export function parseU64(text: string): bigint | undefined {
  const s = text.trim();
  let v: bigint;
  if (/^0[xX][0-9a-fA-F]{1,16}$/.test(s)) v = BigInt(s);
  else if (/^[0-9]{1,20}$/.test(s)) v = BigInt(s);
  else return undefined;
  return v <= U64_MAX ? v : undefined;
}

/** Number of trailing one bits of a non-negative bigint. */
export function trailingOnes(v: bigint): number {
  let n = 0;
  while ((v & 1n) === 1n) {
    v >>= 1n;
    n++;
  }
  return n;
}

/** Index of the highest set bit plus one (Linux fls64); 0 for 0. */
export function fls64(v: bigint): number {
  let n = 0;
  while (v > 0n) {
    v >>= 1n;
    n++;
  }
  return n;
}

/**
 * An integer for JSON and tables, exactly: a number up to 2^53 - 1, beyond that a hex string (a
 * JSON number above 2^53 loses bits in every reader that parses it as a double).
 */
export function exact(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : hex(v);
}
