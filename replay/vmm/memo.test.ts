// Host entries kept per decoded command (vmm/memo.ts), one command's requests kept per decoded
// command (vmm/forward.ts CommandGroups) and the SMMUv3 host's conversions kept per vIOMMU (smmuv3/host.ts), each against
// the answer worked out afresh: the plain VMM, the entries grouped by hand, and the VMID each
// physical SMMU's commands must carry (spec/smmuv3.md §5.2 item 3).

import { describe, expect, it } from 'vitest';
import { SMMUV3, VTD } from '../../formats/codecs.js';
import { unwrap } from '../../formats/result.js';
import type { Topology } from '../../formats/trace/header.js';
import type { HostModel, HostOp } from '../host.js';
import type { PolicyContext } from '../policy.js';
import { Smmuv3Host } from '../smmuv3/host.js';
import { VtdHost } from '../vtd/host.js';
import type { HostInv } from './arch.js';
import { CommandGroups, ForwardBatch, forwardCommand, forwardRange, forwardToHost } from './forward.js';
import { memoVmm } from './memo.js';
import { smmuv3Vmm } from './smmuv3.js';
import { vtdVmm } from './vtd.js';

// Two physical units; guest domain 1 has a device behind each, domain 3 one behind unit 0; 0x8 does ATS.
const TOPO: Topology = {
  iommus: [
    { id: 0, vmid: 1 },
    { id: 1, vmid: 2 },
  ],
  devices: [
    { sid: 0x8, psid: 0x108, iommu: 0, ats: true, domain: 1, hwpt: 0 },
    { sid: 0x10, psid: 0x210, iommu: 1, ats: false, domain: 1, hwpt: 0 },
    { sid: 0x18, psid: 0x118, iommu: 0, ats: false, domain: 3, hwpt: 0 },
  ],
};
// The same devices, all behind unit 0: one object where TOPO has two.
const ONE_UNIT: Topology = { ...TOPO, devices: TOPO.devices.map((d) => ({ ...d, iommu: 0 })) };

const PAGE = 0x10_0000n;
const smmuCmd = (name: string, f: Record<string, bigint | number>) => SMMUV3.decode(unwrap(SMMUV3.encode(name, f)));
const SMMU_CMDS = [
  smmuCmd('CMD_TLBI_NH_VA', { ASID: 1, ADDR: PAGE, LEAF: 1 }),
  smmuCmd('CMD_TLBI_NH_VA', { ASID: 3, ADDR: PAGE, LEAF: 1 }),
  smmuCmd('CMD_TLBI_NH_ASID', { ASID: 1 }),
  smmuCmd('CMD_TLBI_NH_ALL', {}),
  smmuCmd('CMD_ATC_INV', { SID: 0x8, SIZE: 52 }),
  smmuCmd('CMD_CFGI_CD', { SID: 0x10 }),
];
const VTD_CMDS = [
  VTD.decode(unwrap(VTD.encode('iotlb_inv', { G: 3, DID: 1, ADDR: PAGE, AM: 0 }))),
  VTD.decode(unwrap(VTD.encode('iotlb_inv', { G: 2, DID: 3 }))),
  VTD.decode(unwrap(VTD.encode('dev_tlb_inv', { SID: 0x8, ADDR: PAGE }))),
];

const smmuHost = (t: Topology, ops: HostOp[] = []) => new Smmuv3Host(t, (o) => ops.push(o));
const vtdHost = (t: Topology) => new VtdHost(t, () => {});

describe('memoVmm', () => {
  it('answers as the plain VMM does, and keeps each answer for its host', () => {
    for (const [vmm, host, cmds] of [
      [smmuv3Vmm, smmuHost(TOPO), SMMU_CMDS],
      [vtdVmm, vtdHost(TOPO), VTD_CMDS],
    ] as const) {
      const m = memoVmm(vmm, host);
      for (const d of cmds) {
        for (const fanout of ['all', 'first'] as const) {
          const got = m.forward(d, host, fanout);
          expect(got).toEqual(vmm.forward(d, host as HostModel, fanout));
          expect(m.forward(d, host as HostModel, fanout)).toBe(got); // kept
        }
        expect(m.companionDevtlb(d, host as HostModel)).toEqual(vmm.companionDevtlb(d, host as HostModel));
        if (vmm.forwardRaw) expect(m.forwardRaw!(d, host as HostModel)).toEqual(vmm.forwardRaw(d, host as HostModel));
      }
    }
    // The fan-outs are kept apart: a domain spanning two objects goes to both or to the first.
    const host = smmuHost(TOPO);
    const m = memoVmm(smmuv3Vmm, host);
    expect(m.forward(SMMU_CMDS[0]!, host, 'all').length).toBe(2);
    expect(m.forward(SMMU_CMDS[0]!, host, 'first').length).toBe(1);
  });

  it('asked about another host, answers for that host and keeps nothing', () => {
    const two = smmuHost(TOPO);
    const one = smmuHost(ONE_UNIT);
    const m = memoVmm(smmuv3Vmm, two);
    const d = SMMU_CMDS[0]!; // domain 1: an object per unit under TOPO, one object under ONE_UNIT
    expect(m.forward(d, two, 'all').map((i) => i.object)).toEqual(two.objects.map((o) => o.id));
    const other = m.forward(d, one, 'all');
    expect(other.map((i) => i.object)).toEqual([one.objects[0]!.id]);
    expect(m.forward(d, one, 'all')).not.toBe(other);
  });
});

/** The parts of a PolicyContext forwardToHost reads, over a real host. */
function context(host: HostModel, executed: number[]): PolicyContext {
  return { host, vmm: smmuv3Vmm, executed: (pos: number) => void executed.push(pos) } as unknown as PolicyContext;
}

describe('forwardToHost, one command', () => {
  it('one ioctl per object in order of first appearance, with that object entries in order', () => {
    const ops: HostOp[] = [];
    const host = smmuHost(TOPO, ops);
    const [a, b] = host.objects.map((o) => o.id);
    const d = SMMU_CMDS[2]!;
    const e = (asid: number) => smmuCmd('CMD_TLBI_NH_ASID', { ASID: asid }).words as HostInv['entry'];
    const invs: HostInv[] = [
      { object: b!, entry: e(1) },
      { object: a!, entry: e(3) },
      { object: b!, entry: e(4) },
    ];
    const executed: number[] = [];
    const ctx = context(host, executed);
    for (let round = 0; round < 2; round++) {
      ops.length = 0;
      // By hand: object b takes entries 0 and 2, then object a entry 1; every entry is handled.
      expect(forwardToHost(ctx, [{ pos: 5, d, invs }])).toEqual({ ioctls: 2 });
      expect(ops.filter((o) => o.kind === 'ioctl').map((o) => [o.iommu, o.entries])).toEqual([
        [1, 2],
        [0, 1],
      ]);
    }
    expect(executed).toEqual([5, 5]);
    // Near miss: the same entries all on one object make one ioctl of three.
    ops.length = 0;
    expect(forwardToHost(ctx, [{ pos: 6, d, invs: invs.map((i) => ({ ...i, object: a! })) }])).toEqual({ ioctls: 1 });
    expect(ops.filter((o) => o.kind === 'ioctl').map((o) => o.entries)).toEqual([3]);
  });
});

describe('forwardCommand, requests kept per decoded command', () => {
  it('each entry array makes its own ioctls, charged to its own vIOMMU, also for a command seen before', () => {
    const ops: HostOp[] = [];
    const host = smmuHost(TOPO, ops);
    const [a, b] = host.objects.map((o) => o.id);
    const d = SMMU_CMDS[2]!;
    const e = (asid: number) => smmuCmd('CMD_TLBI_NH_ASID', { ASID: asid }).words as HostInv['entry'];
    const executed: number[] = [];
    const ctx = context(host, executed);
    const kept = new CommandGroups();
    const toB: HostInv[] = [{ object: b!, entry: e(1) }];
    const toA: HostInv[] = [{ object: a!, entry: e(1) }];
    const ioctls = () => ops.filter((o) => o.kind === 'ioctl').map((o) => [o.iommu, o.entries]);
    // The same decoded command with another entry array (a policy joining entries of its own):
    // its requests are made anew, not the ones kept for the first array.
    for (const [pos, invs, iommu] of [
      [4, toB, 1],
      [5, toA, 0],
      [6, toB, 1],
      [7, toB, 1],
    ] as const) {
      ops.length = 0;
      expect(forwardCommand(ctx, kept, pos, d, invs)).toEqual({ ioctls: 1 });
      // One entry, on the vIOMMU of the SMMU it names (the op of one entry is kept per vIOMMU).
      expect(ioctls()).toEqual([[iommu, 1]]);
    }
    expect(executed).toEqual([4, 5, 6, 7]);
  });
});

describe('ForwardBatch, reused between doorbells', () => {
  it('a smaller batch after a larger one makes the ioctls a fresh batch makes (slots past its length unread)', () => {
    const ops: HostOp[] = [];
    const host = smmuHost(TOPO, ops);
    const [a, b] = host.objects.map((o) => o.id);
    const d = SMMU_CMDS[2]!;
    const e = (asid: number) => smmuCmd('CMD_TLBI_NH_ASID', { ASID: asid }).words as HostInv['entry'];
    const big: [number, HostInv[]][] = [
      [
        1,
        [
          { object: b!, entry: e(1) },
          { object: a!, entry: e(2) },
        ],
      ],
      [2, [{ object: b!, entry: e(3) }]],
      [
        3,
        [
          { object: a!, entry: e(4) },
          { object: b!, entry: e(5) },
        ],
      ],
    ];
    const small: [number, HostInv[]][] = [
      [7, [{ object: a!, entry: e(6) }]],
      [8, [{ object: a!, entry: e(7) }]],
    ];
    const ioctls = () => ops.filter((o) => o.kind === 'ioctl').map((o) => [o.iommu, o.entries]);
    const run = (batch: ForwardBatch, items: [number, HostInv[]][]) => {
      ops.length = 0;
      const executed: number[] = [];
      batch.clear();
      for (const [pos, invs] of items) batch.push(pos, d, invs);
      const out = forwardRange(context(host, executed), batch, 0, batch.length);
      return { out, executed, ioctls: ioctls() };
    };
    const reused = new ForwardBatch();
    // By hand: object b (unit 1) takes entries 1, 3, 5, then object a (unit 0) entries 2, 4.
    expect(run(reused, big)).toEqual({
      out: { ioctls: 2 },
      executed: [1, 2, 3],
      ioctls: [
        [1, 3],
        [0, 2],
      ],
    });
    const fresh = run(new ForwardBatch(), small);
    // Near miss: the reused batch would send object b's three old entries again, or five to object a.
    expect(fresh).toEqual({ out: { ioctls: 1 }, executed: [7, 8], ioctls: [[0, 2]] });
    expect(run(reused, small)).toEqual(fresh);
    // The same through forwardToHost (a batch of its own per call).
    ops.length = 0;
    const executed: number[] = [];
    expect(
      forwardToHost(
        context(host, executed),
        small.map(([pos, invs]) => ({ pos, d, invs })),
      ),
    ).toEqual({ ioctls: 1 });
    expect([executed, ioctls()]).toEqual([[7, 8], [[0, 2]]]);
  });
});

describe('Smmuv3Host conversions kept per vIOMMU', () => {
  it("the same entry array on two vIOMMUs is converted with each one's VMID", () => {
    const host = smmuHost(TOPO);
    const entry = SMMU_CMDS[2]!.words as HostInv['entry']; // TLBI_NH_ASID ASID 1
    // Fill both units' TLBs for domain 1's devices, one behind each unit.
    for (const sid of [0x8, 0x10]) expect(host.translate(sid, undefined, PAGE).ok).toBe(true);
    const cached = (sid: number) => host.cached(sid, undefined, PAGE).iotlb;
    expect([cached(0x8), cached(0x10)]).toEqual([true, true]);
    const [a, b] = host.objects.map((o) => o.id);
    const inv = (id: number) => host.invalidate({ id, dataType: 1, entryLen: 16, entries: [entry], entryNum: 1 });
    // Through unit 0's vIOMMU (VMID 1): only unit 0's entry goes.
    expect(inv(a!)).toEqual({ errno: 0, entryNum: 1 });
    expect([cached(0x8), cached(0x10)]).toEqual([false, true]);
    // The same array through unit 1's vIOMMU (VMID 2): a conversion kept for VMID 1 would leave it.
    expect(inv(b!)).toEqual({ errno: 0, entryNum: 1 });
    expect([cached(0x8), cached(0x10)]).toEqual([false, false]);
    // Refilled, the same array again on unit 0: converted as the first time.
    for (const sid of [0x8, 0x10]) host.translate(sid, undefined, PAGE);
    expect(inv(a!)).toEqual({ errno: 0, entryNum: 1 });
    expect([cached(0x8), cached(0x10)]).toEqual([false, true]);
  });

  it('an entry whose vSID no vDEVICE holds is EIO, each time', () => {
    const host = smmuHost(TOPO);
    const entry = smmuCmd('CMD_CFGI_CD', { SID: 0x99 }).words as HostInv['entry'];
    const [a] = host.objects.map((o) => o.id);
    for (let i = 0; i < 2; i++)
      expect(host.invalidate({ id: a!, dataType: 1, entryLen: 16, entries: [entry], entryNum: 1 })).toEqual({ errno: 'EIO', entryNum: 0 });
  });
});

describe('Smmuv3Host direct queue plans kept per words array', () => {
  it("the same ATC_INV words report the device's time-out as it is at each command", () => {
    const ops: HostOp[] = [];
    const host = smmuHost(TOPO, ops);
    const atc = SMMU_CMDS[4]!.words; // ATC_INV of device 0x8 (pSID 0x108, unit 0)
    const timedOut = () => ops.filter((o) => o.kind === 'devtlb_inv').map((o) => o.timedOut);
    expect(host.direct(atc)).toEqual({ accepted: true });
    host.setAtcTimeout(0x8, true);
    expect(host.direct(atc)).toEqual({ accepted: true });
    host.setAtcTimeout(0x8, false);
    expect(host.direct(atc)).toEqual({ accepted: true });
    // A plan that had kept the first answer would say false three times.
    expect(timedOut()).toEqual([false, true, false]);
  });

  it('the same TLBI words on the whole queue and on one SMMU VCMDQ are planned apart', () => {
    const ops: HostOp[] = [];
    const host = smmuHost(TOPO, ops);
    const tlbi = SMMU_CMDS[2]!.words; // TLBI_NH_ASID: every SMMU the VM spans, or the VCMDQ's own
    const units = () => ops.filter((o) => o.kind === 'direct_cmd').map((o) => o.iommu);
    host.direct(tlbi);
    expect(units()).toEqual([0, 1]);
    ops.length = 0;
    host.direct(tlbi, 1);
    expect(units()).toEqual([1]);
    ops.length = 0;
    host.direct(tlbi);
    expect(units()).toEqual([0, 1]);
  });
});
