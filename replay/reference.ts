// Bare hardware on the guest's own queue: the reference the oracle holds every policy to. It is fed
// the same doorbells, acknowledgements and device faults as the policies, and after each event
// exposes what the guest would read from a real unit — consumer position, pending error — and
// which completion points it completed (a bitset by absolute position: flat memory).

import type { Topology } from '../formats/trace/header.js';
import type { ReplayKit } from './host.js';
import type { GuestError } from './policy.js';
import { posAt, type GuestQueue } from './guest-queue.js';
import type { QueueUnit, UnitEvent } from './unit.js';

export class Reference {
  private readonly unit: QueueUnit;
  private readonly events: UnitEvent[] = [];
  /** Consumer position after the last event. */
  cons: number;
  /** Pending error after the last event, with the position it stopped at. */
  error: (GuestError & { pos: number }) | undefined;
  /** Queue errors raised. */
  errors = 0;
  /** Completion points completed. */
  completions = 0;
  private done = new Uint8Array(1024);

  constructor(kit: ReplayKit, topology: Topology, private readonly q: GuestQueue) {
    this.unit = kit.guestUnit(topology, q.mem, (e) => this.events.push(e));
    // A trace that starts mid-ring: both sides begin with an empty queue at `start`.
    this.unit.configureQueue(q.base, q.entries, q.descBytes, q.start);
    this.cons = q.start;
  }

  doorbell(index: number, wrap: number): void {
    this.unit.writeProducer(index, wrap);
    this.absorb();
  }

  ack(): void {
    this.unit.acknowledge();
    this.absorb();
  }

  fault(sid: number, timedOut: boolean): void {
    this.unit.setAtcTimeout(sid, timedOut);
  }

  /** Whether bare hardware completed the completion point at `pos`. */
  completed(pos: number): boolean {
    const byte = pos >> 3;
    return byte < this.done.length && (this.done[byte]! & (1 << (pos & 7))) !== 0;
  }

  private markCompleted(pos: number): void {
    const byte = pos >> 3;
    if (byte >= this.done.length) {
      const next = new Uint8Array(Math.max(byte + 1, this.done.length * 2));
      next.set(this.done);
      this.done = next;
    }
    const bit = 1 << (pos & 7);
    if ((this.done[byte]! & bit) === 0) {
      this.done[byte]! |= bit;
      this.completions++;
    }
  }

  /** State after an event: consumer position, error, completions. */
  private absorb(): void {
    const q = this.q;
    const from = this.cons;
    for (const ev of this.events) {
      if (ev.kind === 'complete') this.markCompleted(posAt(ev.slot, 0, from, q.entries, false));
      else if (ev.kind === 'error') this.errors++;
    }
    this.events.length = 0;
    const c = this.unit.consumer();
    this.cons = posAt(c.index, c.wrap, from, q.entries, q.smmu);
    this.error = c.error ? { code: c.error.code, value: c.error.value, pos: this.cons } : undefined;
  }
}
