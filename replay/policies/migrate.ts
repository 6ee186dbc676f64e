// migrate:from=P,to=Q,at=SEQ — live-migration fallback (seed 000): the source host gives the VM a
// hardware queue (or any policy P); the destination cannot, so the VM continues on Q. Doorbells and
// acknowledgements with guest sequence number ≥ SEQ are handled by Q (`at=50%`: SEQ is that share
// of the trace's rows). A sub-policy with a variant is written with `;` between its keys:
// `to=linear-batch:vmm=prepass;split_on_wrap=true`.
// What moves at the switch is the guest-visible queue state, which lives in the guest (the ring in
// guest memory) and in the migrated vIOMMU registers: CONS, a pending error (CMDQ_CONS.ERR / FSTS),
// and every command published but not consumed — the destination's first walk starts at CONS.
// Commands a direct queue had not consumed (stopped on an error) drain to the destination's
// software path the same way. The replay keeps one host model across the switch: entries the source
// left in physical caches are still checked by the oracle, which is stricter than a fresh
// destination host.
// Exactly once: every command the source made take effect must not take effect again on the
// destination; the check counts such commands (`executed_twice`, 0 when correct). Commands that
// took effect on neither side show up as the oracle's findings (stale translation, wrong CONS).

import type { Topology } from '../../formats/trace/header.js';
import {
  checkVariant,
  parsePolicySpec,
  type Policy,
  type PolicyContext,
  type PolicyDetail,
  type PolicyFactory,
  type Variant,
} from '../policy.js';

/** Whether a command took effect on both sides of the switch. */
export class ExactlyOnce {
  private readonly source = new Set<number>();
  twice = 0;
  readonly firstTwice: number[] = [];

  sourceExecuted(pos: number): void {
    this.source.add(pos);
  }

  destinationExecuted(pos: number): void {
    if (!this.source.delete(pos)) return;
    this.twice++;
    if (this.firstTwice.length < 5) this.firstTwice.push(pos);
  }

  /** Positions below the consumer are never walked again: forget them. */
  prune(cons: number): void {
    for (const p of this.source) if (p < cons) this.source.delete(p);
  }
}

/** `at=SEQ` or `at=N%` → the switch sequence number. */
export function switchSeq(at: string, traceEvents: number | undefined, name: string): number {
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(at);
  if (pct !== null) {
    const share = Number(pct[1]);
    if (share > 100) throw new Error(`${name}: at=${at} is more than 100%`);
    if (traceEvents === undefined) throw new Error(`${name}: at=${at} needs the trace length`);
    return Math.floor((traceEvents * share) / 100);
  }
  if (!/^\d+$/.test(at)) throw new Error(`${name}: at must be a sequence number or a share like 50%, not "${at}"`);
  return Number(at);
}

interface Side {
  readonly policy: Policy;
  doorbells: number;
  acks: number;
}

/** A sub-policy spec (`;` between its variant keys) made with the registry. */
function subPolicy(spec: string, registry: () => Readonly<Record<string, PolicyFactory>>, name: string): Policy {
  const { base, variant } = parsePolicySpec(spec.replace(/;/g, ','));
  if (base === 'migrate') throw new Error(`${name}: a migration inside a migration is not supported`);
  const f = registry()[base];
  if (f === undefined) throw new Error(`${name}: unknown policy "${base}"`);
  return f(variant, spec.replace(/;/g, ','));
}

/** The factory, given the registry (resolved lazily: the registry lists migrate too). */
export function makeMigrate(registry: () => Readonly<Record<string, PolicyFactory>>): PolicyFactory {
  const factory = (variant: Variant, name: string): Policy => {
    checkVariant(variant, ['from', 'to', 'at'], name);
    for (const k of ['from', 'to', 'at']) if (variant[k] === undefined) throw new Error(`${name}: needs from=P,to=Q,at=SEQ (or at=N%)`);
    const src: Side = { policy: subPolicy(variant.from!, registry, name), doorbells: 0, acks: 0 };
    const dst: Side = { policy: subPolicy(variant.to!, registry, name), doorbells: 0, acks: 0 };
    switchSeq(variant.at!, variant.at!.endsWith('%') ? 0 : undefined, name); // validates the form now
    const once = new ExactlyOnce();
    let at: number | undefined;
    let switched: { seq: number; us: number; cons: number; unconsumed: number; error: string } | undefined;
    let last: PolicyContext | undefined;
    let published = 0;
    /** The guest's queue error as the previous event left it (an ack clears it before the policy runs). */
    let errorBefore = 'none';

    /** The context a side sees: the same guest state, with each command's effect recorded. */
    const wrap = (ctx: PolicyContext, source: boolean): PolicyContext => {
      const w = Object.create(ctx) as PolicyContext & { executed: PolicyContext['executed'] };
      Object.defineProperty(w, 'executed', {
        value: (pos: number) => {
          if (source) once.sourceExecuted(pos);
          else once.destinationExecuted(pos);
          ctx.executed(pos);
        },
      });
      return w;
    };

    const sideFor = (ctx: PolicyContext, prod: number): { side: Side; ctx: PolicyContext } => {
      last = ctx;
      at ??= switchSeq(variant.at!, ctx.traceEvents, name);
      if (switched === undefined && ctx.eventSeq >= at) {
        switched = {
          seq: ctx.eventSeq,
          us: ctx.modeledUs,
          cons: ctx.cons,
          unconsumed: published - ctx.cons,
          error: errorBefore,
        };
      }
      published = Math.max(published, prod);
      once.prune(ctx.cons);
      return switched === undefined ? { side: src, ctx: wrap(ctx, true) } : { side: dst, ctx: wrap(ctx, false) };
    };

    return {
      name,
      doorbell(ctx, prod) {
        const s = sideFor(ctx, prod);
        s.side.doorbells++;
        s.side.policy.doorbell(s.ctx, prod);
        errorBefore = ctx.error?.code ?? 'none';
      },
      ack(ctx, prod) {
        const s = sideFor(ctx, prod);
        s.side.acks++;
        s.side.policy.ack(s.ctx, prod);
        errorBefore = ctx.error?.code ?? 'none';
      },
      detail(): PolicyDetail {
        const total = last?.modeledUs ?? 0;
        const srcUs = switched?.us ?? total;
        const dstUs = total - srcUs;
        const per = (us: number, n: number) => (n === 0 ? 0 : Math.round((us / n) * 1000) / 1000);
        const r3 = (x: number) => Math.round(x * 1000) / 1000;
        return {
          from: src.policy.name,
          to: dst.policy.name,
          switch_seq: switched?.seq ?? -1,
          handed_over_unconsumed: switched?.unconsumed ?? 0,
          handed_over_error: switched?.error ?? 'none',
          // Doorbells here count the guest's other queue-register write too (the error
          // acknowledgement: GERRORN / FSTS), which the policy handles like a doorbell.
          source_doorbells: src.doorbells + src.acks,
          source_us: r3(srcUs),
          source_us_per_doorbell: per(srcUs, src.doorbells + src.acks),
          destination_doorbells: dst.doorbells + dst.acks,
          destination_us: r3(dstUs),
          destination_us_per_doorbell: per(dstUs, dst.doorbells + dst.acks),
          total_us: r3(total),
          executed_twice: once.twice,
          exactly_once: once.twice === 0,
        };
      },
    };
  };
  // Unavailable when either side is (hw-direct on a queue fronting several physical IOMMUs).
  const sideUnavailable = (spec: string | undefined, t: Topology, queues?: readonly (readonly number[])[]): string | undefined => {
    if (spec === undefined) return undefined;
    const { base, variant } = parsePolicySpec(spec.replace(/;/g, ','));
    const why = registry()[base]?.unavailable?.(variant, t, queues);
    return why === undefined ? undefined : `${base}: ${why}`;
  };
  return Object.assign(factory, {
    needsTraceLength: (v: Variant) => (v.at ?? '').endsWith('%'),
    unavailable: (v: Variant, t: Topology, queues?: readonly (readonly number[])[]) =>
      sideUnavailable(v.from, t, queues) ?? sideUnavailable(v.to, t, queues),
  });
}
