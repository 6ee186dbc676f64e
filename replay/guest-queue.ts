// The guest's queue as every side of a replay shares it: the ring in guest memory, the trace
// sequence number and cause of the command last written to each slot, each slot's command decoded
// and classified once per write (for bare hardware, every policy and the oracle alike), and the
// producer position the doorbells publish. Positions are absolute: lap * entries + index.
//
// A queue's size is a power of two on both architectures: SMMUv3 CMDQ entries = 2^LOG2SIZE
// (../shared/spec/smmuv3.md §1.2), VT-d QI entries = 2^(QS+8), or 2^(QS+7) with 256-bit
// descriptors (../shared/spec/vtd.md §1.1); a trace header's queue_entries is checked to be one
// (formats/trace/header.ts). So a position's slot is its low bits, one AND (`slotOf`), not the
// integer divide of `%`, asked four or five times per command per policy.

import { classify } from '../formats/classify.js';
import type { Decoded } from '../formats/codec/codec.js';
import { codecFor } from '../formats/codecs.js';
import { DecodeCache } from './decode-cache.js';
import { DecodedTable } from './decoded-table.js';
import { unwrap } from '../formats/ring.js';
import type { Classified } from '../formats/scope.js';
import { wordsPerSlot, type TraceHeader } from '../formats/trace/header.js';
import { queueBase } from './feed.js';
import { GuestMemory } from './memory.js';
import type { Cause } from './policy.js';

const CAUSES: readonly (Cause | undefined)[] = [undefined, 'map', 'unmap'];

/**
 * The slot of absolute position `pos` (a non-negative integer below 2^53) on a ring of `mask + 1`
 * entries, a power of two up to 2^19: `pos % entries`. The AND works on `pos` modulo 2^32, which
 * keeps the low bits, so it holds past 2^31 too.
 */
export const slotOf = (pos: number, mask: number): number => pos & mask;

export class GuestQueue {
  readonly entries: number;
  /** entries − 1: the low bits of a position that are its slot (slotOf). */
  private readonly mask: number;
  readonly start: number;
  readonly smmu: boolean;
  readonly descBytes: 16 | 32;
  readonly base: bigint;
  /** `base` as a number (guest-physical addresses stay below 2^53): slot addresses without a BigInt. */
  private readonly baseNum: number;
  /** The words of the slot being decoded, reused (the decode cache keeps its own copy). */
  private readonly fetched: bigint[];
  readonly mem = new GuestMemory();
  /** Absolute producer position: everything before it is published. */
  prod: number;
  private readonly words: 2 | 4;
  /** Decoded commands by their words: a queue repeats itself (every CMD_SYNC alike), decode-cache.ts. */
  private readonly decoder: DecodeCache;
  private readonly slotSeq: Int32Array;
  /** 0 unknown, 1 map, 2 unmap (CAUSES). */
  private readonly slotCause: Uint8Array;
  private readonly slotDecoded: (Decoded | undefined)[];
  private readonly slotClassified: (Classified | undefined)[];
  /** Each slot's completion text (completedAt) and the command name it was made for. */
  private readonly slotCompleted: (string | undefined)[];
  private readonly slotCompletedName: (string | undefined)[];
  /**
   * Each slot's number as text, made when the slot is first written: completedAt's text then joins
   * strings only. With the number converted in completedAt itself, the optimized code of its
   * callers (QueueRun.complete) called NumberToString once per completion point per policy,
   * although the text is made once per slot and command name.
   */
  private readonly slotText: (string | undefined)[];
  /**
   * Classifications by decoded command: decoded commands are shared (the decode cache), so one
   * classification serves every write of the same words, and none is made per write (a slot's
   * would live a whole ring lap: garbage the young generation copies and promotes). By the
   * command's key (decoded-table.ts), not hashed.
   */
  private readonly classes = new DecodedTable<Classified>();

  constructor(readonly header: TraceHeader) {
    this.entries = header.queue_entries;
    if (!(this.entries >= 1 && this.entries <= 1 << 19 && (this.entries & (this.entries - 1)) === 0))
      throw new Error(`guest queue: ${this.entries} entries is not a power of two up to 2^19`);
    this.mask = this.entries - 1;
    this.start = header.start ?? 0;
    this.smmu = header.arch === 'smmuv3';
    this.descBytes = header.desc_bytes;
    this.words = wordsPerSlot(header);
    this.decoder = new DecodeCache(codecFor(header.arch), { descBytes: this.descBytes });
    this.base = queueBase(header);
    this.baseNum = Number(this.base);
    this.fetched = new Array<bigint>(this.words).fill(0n);
    this.mem.addRegion(this.base, this.entries * this.descBytes);
    this.slotSeq = new Int32Array(this.entries).fill(-1);
    this.slotCause = new Uint8Array(this.entries);
    this.slotDecoded = new Array<Decoded | undefined>(this.entries).fill(undefined);
    this.slotClassified = new Array<Classified | undefined>(this.entries).fill(undefined);
    this.slotCompleted = new Array<string | undefined>(this.entries).fill(undefined);
    this.slotCompletedName = new Array<string | undefined>(this.entries).fill(undefined);
    this.slotText = new Array<string | undefined>(this.entries).fill(undefined);
    this.prod = this.start;
  }

  /** The guest writes a command into `slot` (its words as 32-bit halves, low half first). */
  write(seq: number, slot: number, halves: Uint32Array, cause: Cause | undefined): void {
    this.mem.writeHalvesAt(this.baseNum + slot * this.descBytes, halves);
    this.slotSeq[slot] = seq;
    this.slotCause[slot] = cause === 'map' ? 1 : cause === 'unmap' ? 2 : 0;
    this.slotDecoded[slot] = undefined;
    this.slotClassified[slot] = undefined;
    if (this.slotText[slot] === undefined) this.slotText[slot] = String(slot);
  }

  /** The guest writes the producer index (and SMMU wrap bit): the new absolute producer position. */
  doorbell(index: number, wrap: number): number {
    this.prod = unwrap(index, wrap, this.prod, this.entries, this.smmu);
    return this.prod;
  }

  seqAt(pos: number): number {
    return this.slotSeq[slotOf(pos, this.mask)]!;
  }

  causeAt(pos: number): Cause | undefined {
    return CAUSES[this.slotCause[slotOf(pos, this.mask)]!];
  }

  /**
   * Whether the command at `pos` is a map flush (its cause is 'map'): `causeAt(pos) === 'map'` without
   * the string. That compare sees undefined and strings at one site, so V8 cannot specialize it and
   * calls the generic StrictEqual builtin, per command per policy.
   */
  mapFlushAt(pos: number): boolean {
    return this.slotCause[slotOf(pos, this.mask)] === 1;
  }

  decodedAt(pos: number): Decoded {
    const slot = slotOf(pos, this.mask);
    let d = this.slotDecoded[slot];
    if (d === undefined) {
      d = this.decoder.fetch(this.mem, this.baseNum + slot * this.descBytes, this.fetched);
      if (d === undefined) throw new Error(`guest queue slot ${slot} unreadable`);
      this.slotDecoded[slot] = d;
    }
    return d;
  }

  /**
   * How the oracle names the completion of the command at `pos`, shared by every run: one string
   * per slot and command name (a slot keeps its CMD_SYNC or wait lap after lap).
   */
  completedAt(pos: number): string {
    const slot = slotOf(pos, this.mask);
    const name = this.decodedAt(pos).name;
    let how = this.slotCompleted[slot];
    if (how === undefined || this.slotCompletedName[slot] !== name) {
      how = `the ${name} at slot ${this.slotText[slot] ?? String(slot)} completed`;
      this.slotCompleted[slot] = how;
      this.slotCompletedName[slot] = name;
    }
    return how;
  }

  /** Role and cache scope of the command at `pos`, computed once per write of its slot. */
  classifiedAt(pos: number): Classified {
    const slot = slotOf(pos, this.mask);
    let c = this.slotClassified[slot];
    if (c === undefined) {
      const d = this.decodedAt(pos);
      c = this.classes.of(d, classify);
      this.slotClassified[slot] = c;
    }
    return c;
  }
}
