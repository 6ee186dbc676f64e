// The guest's side of the ring: commands go into consecutive slots (SMMUv3 PROD index with its
// wrap bit, VT-d IQT index with the lap parity as wrap), every publish is one doorbell, and
// injected errors are followed by what the Linux guest does about them:
//   ill          SMMUv3: the GERROR handler overwrites the refused slot with a CMD_SYNC and acks
//                (spec/smmuv3.md §1.3); VT-d: qi_check_fault overwrites it with a copy of the
//                submission's wait descriptor and clears FSTS.IQE (spec/vtd.md §1.5).
//   atc-timeout  the device stops answering before the submission; the completion times out
//                (CERROR_ATC_INV_SYNC / ITE); the device answers again and the guest acks; VT-d
//                then submits the same descriptors again (-EAGAIN restart).

import type { EventMeta, TraceBuilder } from '../../formats/trace/builder.js';
import { RingCursor } from '../../formats/ring.js';
import type { LinuxDriver, Submission } from './driver.js';
import type { Words } from './encode.js';
import type { Injection } from './inject.js';

/** One caller's submission inside a publish. */
export interface Part {
  readonly sub: Submission;
  readonly cpu: number;
}

export class GuestQueue {
  /** The producer: next slot and its wrap bit. */
  private readonly prod: RingCursor;
  /** Queue entries written (commands and completions, injected ones included). */
  commands = 0;
  doorbells = 0;
  /** Times the producer passed the end of the ring. */
  wraps = 0;
  private nextInjection = 0;
  readonly fired: Injection[] = [];

  constructor(
    private readonly b: TraceBuilder,
    readonly entries: number,
    private readonly driver: LinuxDriver,
    private readonly injections: readonly Injection[],
    private readonly arch: 'smmuv3' | 'vtd',
    /** Which guest queue (vSMMU instance) this is: every row it writes names it when not 0. */
    private readonly queue = 0,
  ) {
    this.prod = new RingCursor(entries);
  }

  get pendingInjections(): readonly Injection[] {
    return this.injections.slice(this.nextInjection);
  }

  /** Slots `parts` take (commands plus completions). */
  static size(parts: readonly Part[]): number {
    let n = 0;
    for (const p of parts) n += p.sub.cmds.length + (p.sub.sync ? 1 : 0);
    return n;
  }

  /** Writes the parts into the ring and rings the doorbell once (the owner is the first part's CPU). */
  publish(parts: readonly Part[], t: number): void {
    const meta: EventMeta = { ts_ns: BigInt(Math.round(t)), cpu: parts[0]!.cpu, ...(this.queue !== 0 ? { queue: this.queue } : {}) };
    const inj = this.injections[this.nextInjection];
    let ill: number | undefined;
    let timedOut: { part: Part; sid: number } | undefined;
    if (inj !== undefined && this.commands >= inj.at) {
      if (inj.kind === 'ill') {
        ill = this.write(this.driver.illegal(), meta);
        this.fire(inj);
      } else {
        for (const part of parts) {
          const sid = part.sub.ats?.find((s) => inj.sid === undefined || s === inj.sid);
          if (sid !== undefined) {
            timedOut = { part, sid };
            this.b.fault('atc_timeout', sid, meta);
            this.fire(inj);
            break;
          }
        }
      }
    }
    let firstCompletion: number | undefined;
    for (const part of parts) {
      const m = part.cpu === meta.cpu ? meta : { ...meta, cpu: part.cpu };
      const c = this.writeSubmission(part.sub, m);
      firstCompletion ??= c;
    }
    this.ring(meta);
    if (ill !== undefined) {
      // The guest's recovery: a completion command over the refused slot, then the acknowledgement.
      this.b.command(ill, this.driver.completion(firstCompletion ?? ill), meta, this.wrapOf(ill));
      this.b.ack(meta);
    }
    if (timedOut !== undefined) {
      this.b.fault('atc_recover', timedOut.sid, meta);
      this.b.ack(meta);
      if (this.arch === 'vtd') {
        this.writeSubmission(timedOut.part.sub, meta);
        this.ring(meta);
      }
    }
  }

  private fire(inj: Injection): void {
    this.fired.push(inj);
    this.nextInjection++;
  }

  /** Writes a submission; returns the slot of its completion command, if any. */
  private writeSubmission(sub: Submission, meta: EventMeta): number | undefined {
    const m = sub.cause !== undefined ? { ...meta, cause: sub.cause } : meta;
    for (const c of sub.cmds) this.write(c, m);
    return sub.sync ? this.write(this.driver.completion(this.prod.slot), meta) : undefined;
  }

  private write(words: Words, meta: EventMeta): number {
    const slot = this.prod.slot;
    this.b.command(slot, words, meta, this.prod.wrap);
    this.commands++;
    this.prod.advance();
    if (this.prod.slot === 0) this.wraps++;
    return slot;
  }

  private ring(meta: EventMeta): void {
    this.b.doorbell(this.prod.slot, this.prod.wrap, meta);
    this.doorbells++;
  }

  /** Wrap bit a slot written during the current lap had (slots past prod belong to the previous lap). */
  private wrapOf(slot: number): number {
    return slot < this.prod.slot ? this.prod.wrap : this.prod.wrap ^ 1;
  }
}
