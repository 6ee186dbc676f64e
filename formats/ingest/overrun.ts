// Ring overruns seen at ingest (issue 12): a guest that publishes more entries than its queue holds,
// or that keeps writing while the consumer is stopped on an error, has overwritten commands the
// hardware had not read yet. The trace still records what the guest wrote, but replaying it means
// nothing past that point, so ingest warns and names the doorbell.
//
// The model is the producer/consumer arithmetic of the two queues (spec/smmuv3.md §1.2: index and
// wrap bit, full when PROD and CONS differ only in the wrap bit, so 2^N entries; spec/vtd.md §1.1:
// IQT = IQH is empty and one slot stays free, so N - 1 entries). The consumer takes everything a
// doorbell publishes and stops at a command the hardware rejects (a decode error: CERROR_ILL / IQE,
// spec/smmuv3.md §1.3, spec/vtd.md §1.3) until the guest acknowledges it (GERRORN / FSTS), then
// goes on at the next doorbell from the slot it stopped at. Device time-outs (ITE, CERROR_ATC_INV_SYNC)
// are not modelled here: a queue stopped that way is not watched (no warning rather than a wrong one).

import type { Arch } from '../codec/table.js';
import { capacity, period, published, ringIndex, step, wrapValue } from '../ring.js';

const MAX_WARNINGS = 20;

export class RingWatch {
  private readonly capacity: number;
  /** Producer and consumer as extended indices (wrap bit above the index), in [0, 2N). */
  private prod: number;
  private cons: number;
  private stoppedAt: number | undefined;
  /** The command last written into each slot is one the hardware rejects. */
  private readonly rejected: Uint8Array;
  /** Slots whose command is rejected (`rejected` set): with none, the consumer takes all at once. */
  private nRejected = 0;
  private readonly found: string[] = [];
  private more = 0;

  constructor(
    private readonly entries: number,
    arch: Arch,
    start = 0,
  ) {
    this.capacity = capacity(entries, arch !== 'vtd');
    this.rejected = new Uint8Array(entries);
    this.prod = start;
    this.cons = start;
    // Stored twice, so that V8 does not take the field for a constant (it is until a second store):
    // code compiled with it folded in was thrown away at the first queue setup (`reset`).
    this.stoppedAt = start;
    this.stoppedAt = undefined;
  }

  /** Overruns found, each naming its doorbell (at most 20, then a count). */
  get warnings(): string[] {
    return this.more > 0 ? [...this.found, `${this.more} more ring overruns not shown`] : [...this.found];
  }

  /** The queue was programmed again (IQA / CMDQ_BASE write): positions restart at 0. */
  reset(): void {
    this.prod = 0;
    this.cons = 0;
    this.stoppedAt = undefined;
    this.rejected.fill(0);
    this.nRejected = 0;
  }

  /** A command written into `slot`; `rejected`: the hardware raises an error on it. */
  command(slot: number, rejected: boolean): void {
    if (slot >= this.entries) return;
    const now = rejected ? 1 : 0;
    const was = this.rejected[slot]!;
    if (now === was) return;
    this.rejected[slot] = now;
    this.nRejected += now - was;
  }

  /**
   * The guest's producer write; `where` names it (file:line, or where to read them: the string is
   * made only for a warning, not per doorbell).
   */
  doorbell(slot: number, wrap: number, at: string | { readonly file: string; readonly line: number }): void {
    if (slot >= this.entries) return;
    const span = period(this.entries, true);
    const next = wrapValue(slot, wrap, this.entries);
    const n = published(this.prod, next, span);
    const outstanding = published(this.cons, next, span);
    if (outstanding > this.capacity) {
      const where = typeof at === 'string' ? at : `${at.file}:${at.line}`;
      this.note(
        this.stoppedAt === undefined || n === outstanding
          ? `${where}: the doorbell (producer ${slot}, wrap ${wrap & 1}) publishes ${n} entries but a queue of ${this.entries} holds ${this.capacity}: the guest overran its ring, so later commands overwrote ones not yet read`
          : `${where}: the doorbell (producer ${slot}, wrap ${wrap & 1}) leaves ${outstanding} entries behind the consumer stopped at slot ${ringIndex(this.stoppedAt, this.entries)} (error not yet acknowledged), more than the ${this.capacity} a queue of ${this.entries} holds: the guest wrote past the stopped consumer`,
      );
    }
    this.prod = next;
    if (this.stoppedAt === undefined) this.consume();
  }

  /**
   * The guest acknowledged the error: the consumer goes on from the slot it stopped at (taken to be
   * at once, which can only hide an overrun, never invent one).
   */
  ack(): void {
    this.stoppedAt = undefined;
    this.consume();
  }

  private consume(): void {
    if (this.nRejected === 0) {
      this.cons = this.prod; // no slot to stop at: the loop below would get there
      return;
    }
    const span = period(this.entries, true);
    while (this.cons !== this.prod) {
      if (this.rejected[ringIndex(this.cons, this.entries)] === 1) {
        this.stoppedAt = this.cons;
        return;
      }
      this.cons = step(this.cons, 1, span);
    }
  }

  private note(m: string): void {
    if (this.found.length < MAX_WARNINGS) this.found.push(m);
    else this.more++;
  }
}
