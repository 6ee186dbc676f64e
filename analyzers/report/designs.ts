// "Designs compared": the designs the mailing lists argue about (issue 14) on one workload — a table
// of every design the replay ran (verdict, traps, ioctls, modelled time) and one paragraph per
// debate giving the answer these numbers support and the condition that would flip it, computed
// from the replay's summaries and the cost parameters, never canned. Used by `invtrace report`
// (document.ts) and printed by `invtrace demo`.

import type { Costs } from '../../replay/cost/params.js';
import type { PolicySummary, ReplayOutput } from '../../replay/replayer.js';
import { fmt } from './svg.js';

/** What each design is, for a reader; migrate is matched by its base name. */
const LABELS: readonly [string, string][] = [
  ['qemu-accel', 'QEMU today'],
  ['per-command', 'one ioctl per command'],
  ['linear-batch', 'one ioctl per doorbell (VMM batch)'],
  ['kernel-ring', 'in-kernel short path'],
  ['shadow', 'tlbi-on-map: shadow page tables, VFIO map/unmap'],
  ['pv-map', 'paravirtual MAP/UNMAP (virtio-iommu-like)'],
  ['hw-direct', 'hardware queue (VCMDQ-like)'],
  ['migrate', 'migration fallback'],
];

const baseOf = (policy: string) => policy.split(':')[0]!;

export interface DesignRow {
  readonly design: string;
  readonly policy: string;
  readonly verdict: string;
  readonly traps: number;
  readonly ioctls: number;
  readonly modeled_us: number;
  readonly us_per_doorbell: number;
}

/** The design policies of a replay, in the order of LABELS. */
export function designRows(r: ReplayOutput): DesignRow[] {
  const rows: DesignRow[] = [];
  for (const [base, design] of LABELS) {
    for (const p of r.policies.filter((x) => baseOf(x.policy) === base && (base === 'migrate' || x.policy === base))) {
      rows.push({
        design,
        policy: p.policy,
        verdict: p.correct ? 'correct' : `${p.violations} violations`,
        traps: p.traps,
        ioctls: p.ioctls,
        modeled_us: p.modeled_us,
        us_per_doorbell: r.doorbells > 0 ? p.modeled_us / r.doorbells : 0,
      });
    }
  }
  return rows;
}

/** Enough designs for the section to say something (a table of one design is the comparison). */
export function hasDesigns(r: ReplayOutput): boolean {
  return designRows(r).length >= 3;
}

const num = (d: PolicySummary | undefined, key: string): number | undefined => {
  const v = d?.detail?.[key];
  return typeof v === 'number' ? v : undefined;
};
/** A scalar detail as text; `missing` when the policy did not report it. */
const text = (d: PolicySummary | undefined, key: string, missing: string): string => {
  const v = d?.detail?.[key];
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : missing;
};
const pct = (x: number) => `${(100 * x).toFixed(x < 0.1 ? 1 : 0)}%`;
const times = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : '–');
const verdict = (p: PolicySummary) => (p.correct ? 'correct' : `incorrect (${Object.keys(p.violations_by_kind).join(', ')})`);

/** QEMU forwards no device-TLB descriptor: what that saves depends on how many there are. */
function atsShare(devtlb: number, iotlb: number): string {
  if (devtlb + iotlb === 0) return '';
  const share = devtlb / (devtlb + iotlb);
  return (
    `Device-TLB descriptors are ${pct(share)} of its IOTLB-level and device-TLB work (${fmt(devtlb)}), none forwarded: ` +
    'a one-ioctl-per-command VMM pays one ioctl each, so the gap grows with the ATS share and vanishes without ATS devices.'
  );
}

/** One paragraph per debate the replay has the designs for. */
export function designDebates(r: ReplayOutput, c: Costs): string[] {
  const by = new Map(r.policies.map((p) => [p.policy, p]));
  const get = (name: string) => by.get(name);
  const D = Math.max(1, r.doorbells);
  const out: string[] = [];
  const qemu = get('qemu-accel');
  const pc = get('per-command');
  const lb = get('linear-batch');
  const kr = get('kernel-ring');
  const hw = get('hw-direct');
  const sh = get('shadow');
  const pv = get('pv-map');

  if (qemu !== undefined && pc !== undefined) {
    const path = text(qemu, 'path', '');
    if (r.arch === 'smmuv3') {
      out.push(
        `QEMU today: On SMMUv3 QEMU's accel mode is one ioctl per forwarded command: ${fmt(qemu.ioctls)} ioctls against per-command's ${fmt(pc.ioctls)} ` +
          `(they differ only where QEMU ignores ATC_INV without ATS, ${fmt(num(qemu, 'atc_inv_ignored') ?? 0)} here, or turns a failed ioctl into CERROR_ILL). qemu-accel is ${verdict(qemu)}.`,
      );
    } else {
      const nd = num(qemu, 'nested_descriptors') ?? 0;
      const ni = num(qemu, 'nested_ioctls') ?? 0;
      const sd = num(qemu, 'shadow_descriptors') ?? 0;
      out.push(
        `QEMU today: On VT-d per-command is not QEMU: QEMU took the ${path} path. ` +
          (nd > 0
            ? `Its nested path sent ${fmt(ni)} ioctls for ${fmt(nd)} PASID-IOTLB descriptors (${(ni / nd).toFixed(2)} per descriptor: one per device of the DID; it matches one-per-command only with one device per domain). `
            : '') +
          (sd > 0 ? `${fmt(sd)} IOTLB descriptors took the shadow path (walk + VFIO map/unmap per device). ` : '') +
          `Against per-command: ${fmt(qemu.ioctls)} ioctls vs ${fmt(pc.ioctls)}, ${fmt(qemu.modeled_us)} µs vs ${fmt(pc.modeled_us)} µs; qemu-accel is ${verdict(qemu)}. ` +
          atsShare(num(qemu, 'devtlb_not_forwarded') ?? 0, nd + sd),
      );
    }
  }

  if (kr !== undefined && lb !== undefined) {
    const saving = lb.modeled_us - kr.modeled_us;
    const exits = num(kr, 'vmm_exits') ?? 0;
    // Each further VMM-owned command in a doorbell costs the kernel path one more exit to user
    // space (trap_user) and the batching VMM nothing more than its decode: the saving per doorbell
    // is used up at this many exits per doorbell.
    const breakEven = exits / D + saving / D / c.trap_user;
    const gap =
      hw !== undefined && lb.modeled_us > hw.modeled_us
        ? ` It closes ${pct(saving / (lb.modeled_us - hw.modeled_us))} of the gap between linear-batch and hw-direct (${fmt(hw.modeled_us)} µs).`
        : '';
    out.push(
      `The in-kernel short path: kernel-ring (${verdict(kr)}) models ${fmt(kr.modeled_us)} µs against linear-batch's ${fmt(lb.modeled_us)} µs (${times(kr.modeled_us, lb.modeled_us)}): ` +
        `${fmt(kr.traps)} exits, ${fmt(exits)} of them to the VMM for commands it owns, and no ioctl or copy.${gap} ` +
        `It flips when the guest sends more VMM-owned commands (STE/context changes) than about ${breakEven.toFixed(2)} per doorbell (here ${(exits / D).toFixed(3)}): each costs an exit to user space (${c.trap_user} µs).`,
    );
  }

  const mig = r.policies.find((p) => baseOf(p.policy) === 'migrate');
  if (mig !== undefined) {
    const src = num(mig, 'source_us_per_doorbell') ?? 0;
    const dst = num(mig, 'destination_us_per_doorbell') ?? 0;
    const trappedShare = hw !== undefined ? hw.traps / D : undefined;
    out.push(
      `Live-migration fallback: ${mig.policy} is ${verdict(mig)} (exactly once: ${text(mig, 'exactly_once', '–')}). ` +
        `Before the switch a doorbell cost ${fmt(src)} µs (${text(mig, 'from', '–')}), after it ${fmt(dst)} µs (${text(mig, 'to', '–')}): ${times(dst, src)}; total ${fmt(mig.modeled_us)} µs. ` +
        (trappedShare !== undefined
          ? `The overhead shrinks as more doorbells carry commands the hardware queue refuses (${pct(trappedShare)} of them trap even under hw-direct here): at 100% both sides take the same software path.`
          : ''),
    );
  }

  if (sh !== undefined || pv !== undefined) {
    const maps = num(sh, 'map_flushes');
    const unmaps = num(sh, 'unmap_flushes');
    const share = maps !== undefined && unmaps !== undefined && maps + unmaps > 0 ? maps / (maps + unmaps) : undefined;
    const parts: string[] = [];
    parts.push(
      share === undefined
        ? 'tlbi-on-map versus paravirtual map/unmap:'
        : share === 0
          ? "tlbi-on-map versus paravirtual map/unmap: This trace shows no map flush (caching mode off), so shadow's numbers miss the maps; pv-map infers one MAP per unmapped range."
          : `tlbi-on-map versus paravirtual map/unmap: ${pct(share)} of this trace's IOTLB invalidations are map flushes (${fmt(maps!)} of ${fmt(maps! + unmaps!)}).`,
    );
    const nested = lb ?? pc;
    const rows = [
      sh && `shadow ${fmt(sh.modeled_us)} µs (${fmt(sh.traps)} traps, ${fmt(sh.ioctls)} ioctls)`,
      pv && `pv-map ${fmt(pv.modeled_us)} µs (${fmt(pv.traps)} kicks, ${fmt(pv.ioctls)} ioctls)`,
      nested && `${nested.policy} ${fmt(nested.modeled_us)} µs`,
      hw && `hw-direct ${fmt(hw.modeled_us)} µs`,
    ].filter((x): x is string => typeof x === 'string');
    parts.push(`Modelled: ${rows.join('; ')}.`);
    if (share !== undefined && share > 0 && nested !== undefined) {
      parts.push(
        `(${nested.policy} here also pays for the map flushes; a nested vIOMMU needs no caching mode, so its own cost is that of the same workload without them: \`invtrace gen ... --caching-mode off\`.)`,
      );
    }
    if (sh !== undefined && pv !== undefined) {
      const reqs = (num(pv, 'map_requests') ?? 0) + (num(pv, 'unmap_requests') ?? 0);
      const kicks = num(pv, 'kicks') ?? 0;
      const walks = num(sh, 'walks') ?? 0;
      const perKick = kicks > 0 ? (reqs / kicks).toFixed(2) : '–';
      const perInv = unmaps !== undefined && maps !== undefined && maps + unmaps > 0 ? (walks / (maps + unmaps)).toFixed(2) : '–';
      const why = `pv-map sends ${perKick} requests per kick and one IOAS call per request; shadow traps per doorbell and repeats the walk and the VFIO call for each device of the domain (${perInv} walks per invalidation)`;
      if (share === 0) {
        parts.push(`shadow and pv-map are not comparable on this trace: shadow's maps are missing (${why}).`);
      } else if (pv.modeled_us <= sh.modeled_us) {
        parts.push(
          `pv-map is cheaper than shadow by ${times(sh.modeled_us, pv.modeled_us)}: ${why}; more requests per kick or more devices per domain widen its lead.`,
        );
      } else {
        parts.push(
          `shadow is cheaper than pv-map by ${times(pv.modeled_us, sh.modeled_us)}: ${why}; pv-map would overtake it with more requests per kick (larger batches) or more devices per domain.`,
        );
      }
    }
    if (pv !== undefined && nested !== undefined) {
      const pinned = num(pv, 'pages_pinned') ?? 0;
      const unpinned = num(pv, 'pages_unpinned') ?? 0;
      const pins = pinned + unpinned;
      if (pins > 0) {
        // pv-map's time is linear in pin_page (each page pinned and unpinned once); solve for the
        // pin cost at which it equals the nested policy.
        const x = (nested.modeled_us - pv.modeled_us + pins * c.pin_page) / pins;
        parts.push(
          x < 0
            ? `Even with free pinning pv-map stays above ${nested.policy}: its kicks and map calls alone cost more than the nested invalidations.`
            : `pv-map pins ${fmt(pinned)} pages and unpins ${fmt(unpinned)}; it would match ${nested.policy} at ${x.toFixed(3)} µs per pinned page (default ${c.pin_page} µs), ${x >= c.pin_page ? 'so pinning is not what decides it here' : 'so pinning cost decides it'}; nested designs pin guest memory once, at boot.`,
        );
      }
    }
    out.push(parts.join(' '));
  }
  return out;
}

/** The table as aligned text lines (demo). */
export function designTableText(rows: readonly DesignRow[]): string[] {
  const head = ['design', 'policy', 'verdict', 'traps', 'ioctls', 'modelled µs', 'µs/doorbell'];
  const cells = rows.map((r) => [
    r.design,
    r.policy,
    r.verdict,
    fmt(r.traps),
    fmt(r.ioctls),
    fmt(r.modeled_us),
    r.us_per_doorbell.toFixed(2),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) =>
    c
      .map((x, i) => (i >= 3 ? x.padStart(w[i]!) : x.padEnd(w[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...cells.map(line)];
}
