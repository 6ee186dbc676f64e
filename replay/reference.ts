// The reference side of the differential oracle (docs/oracle.md): the stale-translation checks run
// on bare hardware consuming the guest's queue, and what bare hardware also shows is the guest's
// own doing — a guest finding, reported once per trace and never counted against a policy. A
// policy's stale finding is a violation only for entries bare hardware did not also keep.
// Guest findings also name the queue errors bare hardware raises and ring overruns (a guest that
// publishes more entries than the ring holds, or overwrites one the consumer has not reached).

import type { Decoded } from '../formats/codec/codec.js';
import type { Classified } from '../formats/scope.js';
import { capacity as ringCapacity, published, ringIndex } from '../formats/ring.js';
import type { Topology } from '../formats/trace/header.js';
import { describeStale, MAX_OPEN_EPOCHS, probeKey, StaleOracle, type StaleFinding, type ToldFailed, type Violation } from './oracle.js';
import type { GuestError } from './policy.js';
import type { ProbePlans } from './probe-plan.js';
import type { QueueError, Translator } from './unit.js';

export const GUEST_FINDING_KINDS = ['stale-on-hardware', 'queue-error', 'device-timeout', 'ring-overrun'] as const;
export type GuestFindingKind = (typeof GUEST_FINDING_KINDS)[number];

export interface GuestFinding {
  readonly kind: GuestFindingKind;
  /** Guest sequence number of the command (or doorbell) concerned. */
  readonly seq: number;
  readonly scope: string;
  readonly explanation: string;
}

/** Guest findings kept in full; beyond this only counted. */
const KEEP = 50;

/** How a policy's stale finding compares with bare hardware. */
export type Verdict =
  | { readonly violation: false }
  | { readonly violation: true; readonly v: Violation }
  /** Bare hardware has not reached that invalidation's completion point yet. */
  | { readonly undecided: true };

/**
 * What bare hardware's reference tells a watcher as it decides (bare-facts.ts publishes it for policy
 * runs in another thread): the entries it left stale at a position, why it told the guest the
 * invalidation at a position failed.
 */
export interface ReferenceWatch {
  stale(pos: number, keys: ReadonlySet<string>): void;
  failed(pos: number, reason: string): void;
}

export class Reference {
  /** Told of every stale set and told-failed reason as it is recorded (absent: nobody asks). */
  watch: ReferenceWatch | undefined = undefined;
  readonly oracle: StaleOracle;
  /** Position → `probe|hit` of every entry bare hardware left stale. */
  private readonly stale = new Map<number, Set<string>>();
  /** Position → why bare hardware told the guest the invalidation failed. */
  private readonly failed = new Map<number, string>();
  readonly findings: GuestFinding[] = [];
  readonly byKind: Partial<Record<GuestFindingKind, number>> = {};

  /** `plans`: the guest queue's probe plans, shared with every policy's oracle (probe-plan.ts). */
  constructor(topology: Topology, arch: 'smmuv3' | 'vtd', unit: Translator, plans?: ProbePlans) {
    this.oracle = new StaleOracle(topology, arch, unit, MAX_OPEN_EPOCHS, plans);
  }

  add(f: GuestFinding): void {
    this.byKind[f.kind] = (this.byKind[f.kind] ?? 0) + 1;
    if (this.findings.length < KEEP) this.findings.push(f);
  }

  published(pos: number, seq: number, d: Decoded, c: Classified, cause?: string): void {
    this.oracle.published(pos, seq, d, c, cause);
  }

  completed(pos: number, how: string): void {
    this.oracle.completedBefore(pos, how, this.onStale);
  }

  /** Bare hardware stopped at `pos` with `e` (its own QueueError, for the message). */
  stopped(pos: number, seq: number, e: QueueError, how: string): void {
    const err: GuestError = { code: e.code, value: e.value, ...(e.sid !== undefined ? { sid: e.sid } : {}) };
    this.oracle.stopped(pos, err, how, this.onStale, (t: ToldFailed) => {
      this.failed.set(t.pos, t.reason);
      this.watch?.failed(t.pos, t.reason);
    });
    const timeout = e.code === 'ITE' || e.code === 'CERROR_ATC_INV_SYNC';
    this.add({
      kind: timeout ? 'device-timeout' : 'queue-error',
      seq,
      scope: `slot ${e.slot < 0 ? '?' : e.slot}`,
      explanation: `bare hardware ${how.replace(/^the queue /, '')}: ${e.message}`,
    });
  }

  /** hardwareStale as one function made once (the oracle calls it back at each completion point). */
  private readonly onStale = (f: StaleFinding): void => this.hardwareStale(f);

  private hardwareStale(f: StaleFinding): void {
    const set = new Set<string>();
    for (const h of f.hits) set.add(`${probeKey(h.probe)}|${h.hit}`);
    this.stale.set(f.pos, set);
    this.watch?.stale(f.pos, set);
    const v = describeStale(f);
    this.add({ kind: 'stale-on-hardware', seq: v.seq, scope: v.scope, explanation: `${v.explanation} on bare hardware too${hint(f)}` });
  }

  /**
   * A policy left `f` stale. A violation unless bare hardware kept every one of those entries; said
   * with what bare hardware tells the guest instead when it reported the invalidation as failed.
   */
  judge(f: StaleFinding): Verdict {
    return judgeStale(f, this.oracle.isPending(f.pos), this.stale.get(f.pos), this.failed.get(f.pos));
  }

  /** At the end: a finding bare hardware never decided is the policy's own. */
  judgeFinal(f: StaleFinding): Violation | undefined {
    return finalVerdict(f, this.judge(f));
  }
}

/**
 * A policy's stale finding `f` against bare hardware's record at the same position: `pending`
 * (bare hardware has not reached its completion point), `ref` (the `probe|hit` entries bare
 * hardware left stale there), `told` (why bare hardware told the guest it failed). A violation
 * unless bare hardware kept every one of those entries; said with what bare hardware tells the
 * guest instead when it reported the invalidation as failed.
 */
export function judgeStale(f: StaleFinding, pending: boolean, ref: ReadonlySet<string> | undefined, told: string | undefined): Verdict {
  if (pending) return { undecided: true };
  const own = f.hits.filter((h) => !ref?.has(`${probeKey(h.probe)}|${h.hit}`));
  if (own.length === 0) return { violation: false };
  const extra = told !== undefined ? `; bare hardware tells the guest it failed (${told}) instead` : '';
  return { violation: true, v: describeStale({ ...f, hits: own }, extra) };
}

/** At the end: a finding bare hardware never decided (`r` undecided) is the policy's own. */
export function finalVerdict(f: StaleFinding, r: Verdict): Violation | undefined {
  if ('undecided' in r) return describeStale(f);
  return r.violation ? r.v : undefined;
}

/** Why bare hardware might keep an entry the guest invalidated: a hint the guest got wrong. */
function hint(f: StaleFinding): string {
  const s = f.scope;
  if (s.cache === 'iotlb' && s.range !== undefined && /TLBI_.*VA/.test(f.name)) {
    return " (the guest's own doing: e.g. a TTL level hint that does not name the level of the cached leaf, which hardware may honour)";
  }
  return " (the guest's own doing, not a policy's)";
}

/**
 * Ring overruns on a doorbell (DESIGN.md "Words"): after it, the entries published and not yet
 * consumed by bare hardware (`prod − cons`) exceed what the ring holds (SMMUv3: 2^N, the wrap bit
 * tells full from empty, spec/smmuv3.md §1.2; VT-d: entries − 1, IQT = IQH means empty, spec/vtd.md
 * §1.2).
 */
export function overrunOnDoorbell(
  seq: number,
  prod: number,
  cons: number,
  entries: number,
  arch: 'smmuv3' | 'vtd',
): GuestFinding | undefined {
  const capacity = ringCapacity(entries, arch === 'smmuv3');
  if (prod - cons <= capacity) return undefined;
  return {
    kind: 'ring-overrun',
    seq,
    scope: `doorbell seq ${seq}`,
    explanation: `the doorbell at seq ${seq} leaves ${prod - cons} entries published ahead of the consumer (slot ${ringIndex(cons, entries)}) in a ring of ${capacity}: the guest overran its queue; verdicts after it compare queues the guest corrupted`,
  };
}

/**
 * A command written into `slot` while that slot holds a published entry bare hardware has not
 * consumed: the guest overwrote its own queue. Rewriting the slot the consumer is stopped at is the
 * documented recovery (spec/smmuv3.md §1.3 skip routine, spec/vtd.md §1.5 qi_check_fault), not an
 * overrun.
 */
export function overrunOnWrite(
  seq: number,
  slot: number,
  prod: number,
  cons: number,
  stopped: boolean,
  entries: number,
): GuestFinding | undefined {
  const ahead = prod - cons;
  if (ahead <= 0) return undefined;
  const offset = published(ringIndex(cons, entries), slot, entries);
  if (offset >= ahead) return undefined;
  if (offset === 0 && stopped) return undefined;
  return {
    kind: 'ring-overrun',
    seq,
    scope: `slot ${slot}`,
    explanation: `seq ${seq} overwrites slot ${slot}, published and not yet consumed (the consumer is at slot ${ringIndex(cons, entries)}, ${ahead} entries ahead of it): the guest wrote past its consumer`,
  };
}
