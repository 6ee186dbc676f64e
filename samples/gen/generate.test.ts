// Whole generated traces: ring slots and doorbells, the drivers' ordering rules, concurrency, lazy
// flushing, error injection, the header, determinism, and option errors.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codecFor } from '../../formats/codecs.js';
import { MemorySink } from '../../formats/trace/builder.js';
import { viewBatch } from '../../formats/trace/view.js';
import { tempDir } from '../../test/helpers.js';
import { generate, plan, run, type GenPlan } from './generate.js';
import type { OptionKey } from './options.js';

const dir = tempDir();

interface Row {
  readonly kind: string;
  readonly slot: number | null;
  readonly wrap: number | null;
  readonly cpu: number | null;
  readonly op: string | null;
  readonly error: string | null;
  readonly words: bigint[];
  readonly sid: number | null;
}

function planOf(workload: string, opts: Partial<Record<OptionKey, string>>): GenPlan {
  const p = plan(workload, opts);
  if (!p.ok) throw new Error(p.error.message);
  return p.value;
}

function rows(workload: string, opts: Partial<Record<OptionKey, string>>): { p: GenPlan; rows: Row[] } {
  const p = planOf(workload, opts);
  const sink = new MemorySink();
  run(p, sink);
  const n = p.header.desc_bytes === 32 ? 4 : 2;
  const out: Row[] = [];
  for (const b of sink.batches) {
    const v = viewBatch(b);
    const sid = b.getChild('sid')!;
    for (let i = 0; i < v.length; i++) {
      const kind = v.kindOf(i);
      out.push({
        kind,
        slot: v.slot.valid(i) ? v.slot.values[i]! : null,
        wrap: v.wrap.valid(i) ? v.wrap.values[i]! : null,
        cpu: v.cpu.valid(i) ? v.cpu.values[i]! : null,
        op: v.op.valid(i) ? v.op.names[v.op.codes[i]!]! : null,
        error: v.error.valid(i) ? v.error.names[v.error.codes[i]!]! : null,
        words: kind === 'cmd' ? v.words(i, n) : [],
        sid: sid.isValid(i) ? Number(sid.get(i)) : null,
      });
    }
  }
  return { p, rows: out };
}

/** Commands grouped by the doorbell that published them. */
function publishes(rs: readonly Row[]): Row[][] {
  const out: Row[][] = [];
  let cur: Row[] = [];
  for (const r of rs) {
    if (r.kind === 'cmd') cur.push(r);
    else if (r.kind === 'doorbell') {
      out.push(cur);
      cur = [];
    }
  }
  return out;
}

const count = (rs: readonly Row[], op: string) => rs.filter((r) => r.op === op).length;

describe('ring slots and doorbells', () => {
  it.each([
    ['smmuv3', { queue: '128', commands: '2000', cpus: '2', rate: '50000' }],
    ['vtd', { commands: '2000', kernel: '6.12', domains: '1' }],
    ['vtd', { commands: '2000', kernel: '6.1', scalable: 'on' }],
  ] as const)('%s %j: consecutive slots, each doorbell publishes the producer index and wrap bit', (w, o) => {
    const { p, rows: rs } = rows(w, o);
    const entries = p.header.queue_entries;
    let prod = 0,
      wrap = 0,
      wraps = 0;
    for (const r of rs) {
      if (r.kind === 'cmd') {
        expect([r.slot, r.wrap]).toEqual([prod, wrap]);
        if (++prod === entries) [prod, wrap, wraps] = [0, wrap ^ 1, wraps + 1];
      } else if (r.kind === 'doorbell') expect([r.slot, r.wrap]).toEqual([prod, wrap]);
    }
    expect(wraps).toBeGreaterThan(2); // small queues wrap on their own
    expect(rs.at(-1)!.kind).toBe('doorbell'); // nothing left unpublished
    expect(rs.filter((r) => r.kind === 'cmd' && r.error !== null)).toEqual([]); // the driver model writes valid commands only
  });
  it('--commands stops at the first doorbell that reaches the count', () => {
    const { rows: rs } = rows('smmuv3', { commands: '1000' });
    const n = count(rs, 'CMD_SYNC') + rs.filter((r) => r.kind === 'cmd' && r.op !== 'CMD_SYNC').length;
    expect(n).toBeGreaterThanOrEqual(1000);
    expect(n).toBeLessThan(1000 + 66);
  });
});

describe('driver rules in whole traces', () => {
  it('SMMUv3: every ATC_INV publish follows a completed TLBI publish; at most 64 commands + SYNC per publish', () => {
    const { rows: rs } = rows('smmuv3', { commands: '4000', ats: '1', domains: '1', ril: 'off', sizes: '4K:5,512K:1' });
    const pubs = publishes(rs);
    expect(Math.max(...pubs.map((c) => c.length))).toBeLessThanOrEqual(65);
    expect(pubs.some((c) => c.length === 64 && c.every((r) => r.op === 'CMD_TLBI_NH_VA'))).toBe(true); // a full batch, no SYNC
    let tlbiOpen = false;
    for (const r of rs.filter((x) => x.kind === 'cmd')) {
      if (r.op === 'CMD_TLBI_NH_VA') tlbiOpen = true;
      if (r.op === 'CMD_SYNC') tlbiOpen = false;
      if (r.op === 'CMD_ATC_INV') expect(tlbiOpen).toBe(false);
    }
    expect(count(rs, 'CMD_ATC_INV')).toBeGreaterThan(100);
  });
  it('VT-d 6.1: one descriptor and its wait per doorbell; 6.12: IOTLB then a devTLB per ATS device, one wait', () => {
    const old = publishes(rows('vtd', { commands: '2000', kernel: '6.1', domains: '1', ats: '0.5' }).rows);
    expect(old.every((c) => c.length === 2 && c[1]!.op === 'inv_wait' && c[0]!.op !== 'inv_wait')).toBe(true);
    const now = publishes(rows('vtd', { commands: '2000', kernel: '6.12', domains: '1', ats: '0.5' }).rows);
    const unmaps = now.filter((c) => c.some((r) => r.op === 'dev_tlb_inv'));
    expect(unmaps.length).toBeGreaterThan(100);
    for (const c of unmaps) expect(c.map((r) => r.op)).toEqual(['iotlb_inv', 'dev_tlb_inv', 'dev_tlb_inv', 'inv_wait']);
  });
  it('VT-d: caching mode on 6.1 forces strict; 6.12 first-stage lazy flushes PASID-selective + devTLB all', () => {
    expect(planOf('vtd', { kernel: '6.1', mode: 'lazy' }).header.notes).toMatchObject({
      effective: { mode: 'strict', strict_forced_by: 'caching mode' },
    });
    const { p, rows: rs } = rows('vtd', {
      kernel: '6.12',
      mode: 'lazy',
      scalable: 'on',
      stage: 'first',
      requests: '3000',
      latencyUs: '20',
    });
    expect(p.effective.mode).toBe('lazy');
    const codec = codecFor('vtd');
    const piotlb = rs.filter((r) => r.op === 'p_iotlb_inv').map((r) => codec.decode(r.words, { descBytes: 32 }).fields.G);
    expect(new Set(piotlb)).toEqual(new Set([2n])); // no page-selective ones: the flush queue flushes whole PASIDs
    const all = rs.filter((r) => r.op === 'dev_tlb_inv');
    expect(all.length).toBeGreaterThan(0);
    expect(all.every((r) => r.words[1] === 0x7ffffffffffff001n)).toBe(true);
  });
  it('SMMUv3 lazy: TLBI_NH_ASID flushes on the 10 ms timer (8-12 ms on 4 ms jiffies), no per-unmap TLBIs', () => {
    // Closed loop, one CPU: 4,000 requests of 100 us = 0.4 s of unmaps on one domain.
    const { rows: rs } = rows('smmuv3', { mode: 'lazy', devices: '1', requests: '4000', latencyUs: '100' });
    expect(count(rs, 'CMD_TLBI_NH_VA')).toBe(0);
    const flushes = count(rs, 'CMD_TLBI_NH_ASID') - 1; // one at attach
    expect(flushes).toBeGreaterThanOrEqual(Math.floor(0.4 / 0.012));
    expect(flushes).toBeLessThanOrEqual(Math.ceil(0.4 / 0.008) + 1);
  });
});

describe('concurrency', () => {
  it('SMMUv3: CPUs interleave, and one CMDQ_PROD write can cover commands of several CPUs', () => {
    const pubs = publishes(rows('smmuv3', { commands: '6000', cpus: '4', rate: '100000', latencyUs: '20' }).rows);
    expect(pubs.some((c) => new Set(c.map((r) => r.cpu)).size > 1)).toBe(true);
    const owners = pubs.map((c) => c[0]?.cpu);
    expect(owners.slice(0, 200).some((cpu, i) => i > 0 && cpu !== owners[i - 1])).toBe(true);
  });
  it('VT-d: submissions interleave but never share a doorbell (qi_submit_sync holds the queue lock)', () => {
    const pubs = publishes(rows('vtd', { commands: '4000', cpus: '4', rate: '100000', latencyUs: '20' }).rows);
    expect(pubs.every((c) => new Set(c.map((r) => r.cpu)).size === 1)).toBe(true);
    expect(new Set(pubs.map((c) => c[0]!.cpu)).size).toBe(4);
  });
});

describe('error injection', () => {
  it.each(['smmuv3', 'vtd'] as const)(
    '%s ill@N: one refused command at the head of a submission, overwritten by a completion, then an ack',
    (w) => {
      const { rows: rs } = rows(w, { commands: '1500', inject: 'ill@700' });
      const bad = rs.findIndex((r) => r.error !== null);
      expect(bad).toBeGreaterThan(0);
      expect(rs.filter((r) => r.error !== null)).toHaveLength(1);
      const rewrite = rs.findIndex((r, i) => i > bad && r.kind === 'cmd' && r.slot === rs[bad]!.slot);
      expect(rs.slice(bad + 1, rewrite).some((r) => r.kind === 'doorbell')).toBe(true);
      expect(rs[rewrite]!.op).toBe(w === 'vtd' ? 'inv_wait' : 'CMD_SYNC');
      expect(rs[rewrite + 1]!.kind).toBe('ack');
      if (w === 'vtd') {
        // qi_check_fault copies the submission's own wait descriptor over the refused slot.
        const wait = rs.slice(bad + 1, rewrite).find((r) => r.op === 'inv_wait')!;
        expect(rs[rewrite]!.words).toEqual(wait.words);
      }
    },
  );
  it.each(['smmuv3', 'vtd'] as const)(
    '%s atc-timeout@N: the device stops answering before its invalidation, recovers, the guest acks',
    (w) => {
      const { rows: rs } = rows(w, { commands: '1500', inject: 'atc-timeout@700', ats: '1', kernel: '6.12' });
      const t = rs.findIndex((r) => r.kind === 'atc_timeout');
      const sid = rs[t]!.sid!;
      const db = rs.findIndex((r, i) => i > t && r.kind === 'doorbell');
      const devOp = w === 'vtd' ? 'dev_tlb_inv' : 'CMD_ATC_INV';
      const hit = rs.slice(t + 1, db).filter((r) => r.op === devOp);
      expect(hit.length).toBeGreaterThan(0);
      expect(hit.some((r) => codecFor(w).decode(r.words).fields.SID === BigInt(sid))).toBe(true);
      expect(rs.slice(db + 1, db + 3).map((r) => [r.kind, r.sid])).toEqual([
        ['atc_recover', sid],
        ['ack', null],
      ]);
      if (w === 'vtd') {
        // -EAGAIN: the same descriptors are submitted again.
        const before = rs
          .slice(t + 1, db)
          .filter((r) => r.op !== 'inv_wait')
          .map((r) => r.words);
        const next = rs.findIndex((r, i) => i > db + 2 && r.kind === 'doorbell');
        expect(
          rs
            .slice(db + 3, next)
            .filter((r) => r.op !== 'inv_wait')
            .map((r) => r.words),
        ).toEqual(before);
      }
    },
  );
});

describe('header', () => {
  it('topology: devices with sid, psid, iommu, ats, domain, hwpt; knobs in notes; no wall-clock time', () => {
    const p = planOf('smmuv3', { devices: '6', iommus: '2', domains: '3', ats: '0.5' });
    const devs = p.header.topology!.devices;
    expect(devs.map((d) => [d.sid, d.iommu, d.hwpt, d.domain, d.ats])).toEqual([
      [0x100, 0, 0, 1, false],
      [0x108, 1, 1, 2, true],
      [0x110, 0, 0, 3, false],
      [0x118, 1, 1, 1, true],
      [0x120, 0, 0, 2, false],
      [0x128, 1, 1, 3, true],
    ]);
    expect(new Set(devs.map((d) => d.psid)).size).toBe(6);
    expect(p.header.topology!.iommus).toEqual([
      { id: 0, vmid: 1 },
      { id: 1, vmid: 2 },
    ]);
    expect(p.header.notes).toMatchObject({ workload: 'smmuv3', options: { seed: '1', devices: '6', iommus: '2' } });
    expect(JSON.stringify(p.header)).not.toMatch(/20\d\d-\d\d-\d\d|"ts"|time":/);
  });
  it('a profile keeps the captured VM: seven q35 devices, five domains, ATS on virtio-blk', () => {
    const devs = planOf('linux-6.1-vtd-strict', {}).header.topology!.devices;
    expect(devs.map((d) => d.domain)).toEqual([2, 3, 4, 5, 5, 5, 6]);
    expect(devs.filter((d) => d.ats).map((d) => d.sid)).toEqual([0x100]);
  });
});

describe('determinism', () => {
  it('same seed → identical bytes; another seed → another file', async () => {
    const opts = { commands: '3000', cpus: '2', rate: '30000' };
    const paths = ['a', 'b', 'c'].map((n) => join(dir, `${n}.arrow`));
    await generate(planOf('vtd', { ...opts, seed: '5' }), paths[0]!);
    await generate(planOf('vtd', { ...opts, seed: '5' }), paths[1]!);
    await generate(planOf('vtd', { ...opts, seed: '6' }), paths[2]!);
    const [a, b, c] = paths.map((f) => readFileSync(f));
    expect(a!.equals(b!)).toBe(true);
    expect(a!.equals(c!)).toBe(false);
  });
});

describe('bad options', () => {
  it.each([
    ['vtd', { queue: '100' }, /--queue: 100 is not a power of two/],
    ['smmuv3', { queue: '64' }, /--queue: 64 entries: the SMMUv3 driver needs at least 128/],
    ['vtd', { stage: 'first' }, /--stage: first-stage domains need --scalable on/],
    ['vtd', { kernel: '5.10' }, /--kernel: "5.10" is not one of 6.1, 6.12/],
    ['vtd', { sizes: '3000' }, /--sizes: 3000 is not a whole number of 4 KiB pages/],
    ['vtd', { inject: 'atc-timeout@10', ats: '0' }, /--inject: atc-timeout needs a device with ATS/],
    ['vtd', { inject: 'boom@3' }, /--inject: unknown injection "boom"/],
    ['smmuv3', { domains: '9', devices: '4' }, /--domains: 9 domains for 4 devices/],
    ['nope', {}, /unknown workload/],
  ] as const)('%s %j', (w, o, re) => {
    const p = plan(w, o);
    expect(p.ok).toBe(false);
    if (!p.ok) expect(`${p.error.field}: ${p.error.message}`).toMatch(re);
  });
});
