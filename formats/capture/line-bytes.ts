// Bytes of a log line, for the byte-level scanners of both sides of a capture (qemu-bytes.ts for
// the QEMU log, guest-bytes.ts for the guest's ftrace): ASCII character classes and an interner
// that makes each recurring token's string once.

export const isDigit = (c: number) => c >= 48 && c <= 57;
/** A hex digit's value, or -1. */
export const hexVal = (c: number) => (c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1);
export const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** Slots of `Interner`'s recent strings (a power of two). */
const RECENT = 16;

/**
 * The strings of a recurring token (QEMU's `{x:s}` fields such as type names, the guest's event
 * and flag fields: a few distinct values), one string per distinct value instead of one per line. Bounded; a value whose hash is taken by another is made anew.
 */
export class Interner {
  private readonly byHash = new Map<number, string>();
  /**
   * The last string given out per slot of a cheap key (length, first and last byte): most tokens
   * repeat one of a few, found here by comparing the bytes, without hashing them or a Map lookup.
   */
  private readonly recent = new Array<string>(RECENT).fill('');

  get(buf: Buffer, s: number, e: number): string {
    const n = e - s;
    const slot = n > 0 ? (n * 7 + buf[s]! * 3 + buf[e - 1]!) & (RECENT - 1) : 0;
    const r = this.recent[slot]!;
    if (r.length === n) {
      let k = 0;
      while (k < n && r.charCodeAt(k) === buf[s + k]) k++;
      if (k === n) return r;
    }
    return (this.recent[slot] = this.hashed(buf, s, e));
  }

  private hashed(buf: Buffer, s: number, e: number): string {
    const h = hashOf(buf, s, e);
    const hit = this.byHash.get(h);
    if (hit !== undefined && hit.length === e - s) {
      let k = 0;
      while (k < hit.length && hit.charCodeAt(k) === buf[s + k]) k++;
      if (k === hit.length) return hit;
    }
    const str = buf.toString('latin1', s, e);
    if (hit !== undefined || this.byHash.size >= 1024) return str;
    const kept = internalized(str);
    this.byHash.set(h, kept);
    return kept;
  }
}

/**
 * `s` as V8's internalized string of its value (the one its string table holds, as a property name
 * or a literal is): the interner's strings then compare with a literal or with each other by
 * reference, and a keyed load with one does not look it up in the string table first.
 */
function internalized(s: string): string {
  return Object.keys({ [s]: 0 })[0]!;
}

/** The hash of bytes `[s, e)` the interner and the QEMU scanner's event table key by (h = h * 31 + byte, 32-bit). */
export function hashOf(b: Uint8Array, s: number, e: number): number {
  let h = 0;
  for (let i = s; i < e; i++) h = (Math.imul(h, 31) + b[i]!) | 0;
  return h;
}
