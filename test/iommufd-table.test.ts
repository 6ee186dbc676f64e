// The host model against Linux's own negative tests (issue 12 item 7). One table per
// architecture: a bad (or borderline) IOMMU_HWPT_INVALIDATE call, the errno and entry_num the
// kernel returns, and where that comes from. Sources (read with the stored Linux tree; cited by
// file and function, nothing copied):
//   core     drivers/iommu/iommufd/hw_pagetable.c  iommufd_hwpt_invalidate
//              (__reserved → EOPNOTSUPP; entry_num > 0 with data_uptr 0 or entry_len 0 → EINVAL;
//              unknown id → ENOENT from iommufd_get_object; neither HWPT_NESTED nor VIOMMU →
//              EINVAL; no cache_invalidate(_user) op → EOPNOTSUPP; entry_num out = what the driver
//              left in data_array.entry_num, 0 on every early error)
//   full     include/linux/iommu.h  iommu_copy_struct_from_full_user_array
//              (type ≠ data_type → EINVAL; entry_num 0 → EINVAL; per entry copy_struct_from_user)
//   entry    include/linux/iommu.h  __iommu_copy_struct_from_user_array / __iommu_copy_struct_from_user
//              (type mismatch → EINVAL; entry_len < min_len (offsetofend of the last initial
//              member) → EINVAL; then copy_struct_from_user)
//   uaccess  include/linux/uaccess.h  copy_struct_from_user
//              (shorter: zero-extended; longer: trailing bytes must be zero → else E2BIG)
//   smmu     drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-iommufd.c
//              arm_vsmmu_cache_invalidate (whole array copied first; convert in place; blocks of
//              CMDQ_BATCH_ENTRIES − 1 issued with a sync; entry_num = cur − cmds, `cur--` on a
//              failed block), arm_vsmmu_convert_user_cmd (8-opcode whitelist, else EIO; VMID
//              forced; vSID → pSID), arm_vsmmu_vsid_to_sid (unknown vSID → EIO)
//   vtd      drivers/iommu/intel/nested.c  intel_nested_cache_invalidate_user
//              (type ≠ VTD_S1 → EINVAL; per entry: copy errors; flags other than LEAF or
//              __reserved → EOPNOTSUPP; addr not 4 KiB aligned or npages U64_MAX with addr ≠ 0
//              → EINVAL; stops at the first bad entry; entry_num = processed), and
//              cache_tag_flush_range returning void (hardware errors never reach userspace)
//   selftest tools/testing/selftests/iommu/iommufd.c  TEST_F(iommufd_viommu, vdevice_cache)
//              (the mock driver's cases: zero-length probe, invalid data_type, entry_len size+1,
//              1 and 0, invalid flags, NULL data_uptr, unknown vdev_id, a good entry then a bad
//              one → entry_num 1 with the first applied). Where a real driver differs from the
//              mock, the row says so and follows the driver.
// Every row runs against the model (replay/smmuv3/host.ts, replay/vtd/host.ts); a row whose
// `effect` is given also checks what reached the physical queue.
import { describe, expect, it } from 'vitest';
import { U64_MAX } from '../formats/bits.js';
import type { Topology } from '../formats/trace/header.js';
import type { Errno, HostOp, HwptInvalidate, Smmuv3InvEntry } from '../replay/host.js';
import { cmd } from '../replay/smmuv3/encode.js';
import { DATA_ARM_SMMUV3, Smmuv3Host } from '../replay/smmuv3/host.js';
import { IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, VtdHost, type VtdUserEntry } from '../replay/vtd/host.js';

interface Row<E> {
  readonly name: string;
  /** Where the expectation comes from (see the header for the functions' rules). */
  readonly source: string;
  /** The call, relative to a good one on the right object. */
  readonly req: (ids: Ids) => Partial<HwptInvalidate<E>> & { entries: readonly E[] | null };
  /** Set up before the call (e.g. a device stops answering). */
  readonly before?: (h: Smmuv3Host | VtdHost) => void;
  readonly errno: Errno | 0;
  readonly entryNum: number;
  /** Commands placed on the physical queue (host_cmd ops, syncs not included), if checked. */
  readonly hostCmds?: number;
  /** Physical completion points (host_sync ops), if checked. */
  readonly hostSyncs?: number;
}

interface Ids {
  /** The object a VMM invalidates on (SMMUv3 vIOMMU, VT-d nested HWPT). */
  readonly target: number;
  /** An object of another kind (the IOAS; VT-d: also a device object). */
  readonly other: number;
  /** SMMUv3: a nested HWPT id (its domain has no cache_invalidate_user). */
  readonly nested?: number;
}

// ---- SMMUv3 ------------------------------------------------------------------------------------

const SMMU_TOPO: Topology = {
  iommus: [{ id: 0, vmid: 5 }],
  devices: [
    { sid: 0x8, psid: 0x108, iommu: 0, ats: true, domain: 1, hwpt: 0 },
    { sid: 0x10, psid: 0x110, iommu: 0, ats: false, domain: 2, hwpt: 0 },
  ],
};
const VA = cmd('CMD_TLBI_NH_VA', { ASID: 1, ADDR: 0x10_0000n, LEAF: 1 });
const ATC = cmd('CMD_ATC_INV', { SID: 0x8, SIZE: 52 });
const s = (name: string, r: Omit<Row<Smmuv3InvEntry>, 'name'>): Row<Smmuv3InvEntry> => ({ name, ...r });

// One row per line, as the table reads (a row is one record of the spec or of the CLI):
// prettier-ignore
const SMMU_ROWS: readonly Row<Smmuv3InvEntry>[] = [
  // selftest: a zero-length array probes data_type (mock: 0). The SMMUv3 driver copies with the
  // full-array helper, which refuses entry_num 0 after the type check.
  s('entry_num = 0 (type probe)', { source: 'full: iommu_copy_struct_from_full_user_array (entry_num 0); selftest vdevice_cache probe (mock only)', req: () => ({ entries: [], entryNum: 0 }), errno: 'EINVAL', entryNum: 0, hostCmds: 0 }),
  s('unknown data_type', { source: 'full: type ≠ IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3; selftest invalid data_type', req: () => ({ entries: [VA], dataType: 0xdead }), errno: 'EINVAL', entryNum: 0, hostCmds: 0 }),
  s('unknown data_type with entry_num 0: the type is checked first', { source: 'full: type check before the entry_num check', req: () => ({ entries: [], entryNum: 0, dataType: 0xdead }), errno: 'EINVAL', entryNum: 0 }),
  s('entry_len = 0', { source: 'core: entry_num && !entry_len; selftest invalid entry_len', req: () => ({ entries: [VA], entryLen: 0 }), errno: 'EINVAL', entryNum: 0, hostCmds: 0 }),
  s('entry_len = size + 1, trailing byte nonzero', { source: 'uaccess: copy_struct_from_user trailing bytes (E2BIG); selftest size+1 (mock: EINVAL)', req: () => ({ entries: [[VA[0], VA[1], 0xffn]], entryLen: 17 }), errno: 'E2BIG', entryNum: 0, hostCmds: 0 }),
  s('entry_len = size + 1, trailing byte zero', { source: 'uaccess: longer struct with zeroed tail is accepted', req: () => ({ entries: [[VA[0], VA[1], 0n]], entryLen: 17 }), errno: 0, entryNum: 1, hostCmds: 1, hostSyncs: 1 }),
  // The full-array helper has no minimum length: 1 byte per entry is zero-extended to 16, so the
  // opcode byte alone (0x11 = TLBI_NH_ASID, ASID 0) is a valid command. (The mock driver's
  // per-entry copy has a minimum and gives EINVAL.)
  s('entry_len = 1: zero-extended, no minimum', { source: 'full + uaccess: copy_struct_from_user zero-extends; selftest entry_len 1 (mock: EINVAL)', req: () => ({ entries: [[0x11n, 0xffffn]], entryLen: 1 }), errno: 0, entryNum: 1, hostCmds: 1, hostSyncs: 1 }),
  s('NULL data_uptr with entry_num 1', { source: 'core: entry_num && !data_uptr; selftest invalid data_uptr', req: () => ({ entries: null, entryNum: 1 }), errno: 'EINVAL', entryNum: 0, hostCmds: 0 }),
  s('__reserved ≠ 0', { source: 'core: cmd->__reserved', req: () => ({ entries: [VA], reserved: 1 }), errno: 'EOPNOTSUPP', entryNum: 0, hostCmds: 0 }),
  s('entry_num past the user buffer', { source: 'full: copy_from_user of the whole array faults', req: () => ({ entries: [VA], entryNum: 2 }), errno: 'EFAULT', entryNum: 0, hostCmds: 0 }),
  s('NULL data_uptr on an unknown id: the array check comes before the lookup', { source: 'core: the entry_num/data_uptr check precedes iommufd_get_object', req: () => ({ entries: null, entryNum: 1, id: 999 }), errno: 'EINVAL', entryNum: 0 }),
  s('__reserved ≠ 0 on an unknown id: checked first of all', { source: 'core: __reserved is the first check', req: () => ({ entries: [VA], id: 999, reserved: 1 }), errno: 'EOPNOTSUPP', entryNum: 0 }),
  s('unknown data_type on a nested HWPT id: the object is checked before the driver sees the type', { source: 'core: HWPT_NESTED without the op → EOPNOTSUPP before any driver check', req: (ids) => ({ entries: [VA], id: ids.nested!, dataType: 0xdead }), errno: 'EOPNOTSUPP', entryNum: 0 }),
  s('unknown object id', { source: 'core: iommufd_get_object → ENOENT', req: () => ({ entries: [VA], id: 999 }), errno: 'ENOENT', entryNum: 0 }),
  s('the IOAS id (neither nested HWPT nor vIOMMU)', { source: 'core: else branch → EINVAL', req: (ids) => ({ entries: [VA], id: ids.other }), errno: 'EINVAL', entryNum: 0 }),
  s('a nested HWPT id (SMMUv3 nested domains have no cache_invalidate_user)', { source: 'core: HWPT_NESTED without cache_invalidate_user → EOPNOTSUPP', req: (ids) => ({ entries: [VA], id: ids.nested! }), errno: 'EOPNOTSUPP', entryNum: 0 }),
  s('opcode outside the whitelist (CMD_SYNC)', { source: 'smmu: arm_vsmmu_convert_user_cmd default → EIO', req: () => ({ entries: [cmd('CMD_SYNC')] }), errno: 'EIO', entryNum: 0, hostCmds: 0 }),
  s('opcode outside the whitelist (CFGI_STE)', { source: 'smmu: arm_vsmmu_convert_user_cmd default → EIO', req: () => ({ entries: [cmd('CMD_CFGI_STE', { SID: 0x8 })] }), errno: 'EIO', entryNum: 0 }),
  s('opcode outside the whitelist (TLBI_S12_VMALL)', { source: 'smmu: arm_vsmmu_convert_user_cmd default → EIO', req: () => ({ entries: [cmd('CMD_TLBI_S12_VMALL', { VMID: 5 })] }), errno: 'EIO', entryNum: 0 }),
  s('opcode outside the whitelist (PREFETCH_CONFIG)', { source: 'smmu: arm_vsmmu_convert_user_cmd default → EIO', req: () => ({ entries: [cmd('CMD_PREFETCH_CONFIG', { SID: 0x8 })] }), errno: 'EIO', entryNum: 0 }),
  s('unknown vSID in ATC_INV', { source: 'smmu: arm_vsmmu_vsid_to_sid → EIO; selftest unknown vdev_id (mock: EINVAL)', req: () => ({ entries: [cmd('CMD_ATC_INV', { SID: 0x99, SIZE: 52 })] }), errno: 'EIO', entryNum: 0, hostCmds: 0 }),
  s('unknown vSID in CFGI_CD', { source: 'smmu: arm_vsmmu_vsid_to_sid → EIO', req: () => ({ entries: [cmd('CMD_CFGI_CD', { SID: 0x99 })] }), errno: 'EIO', entryNum: 0 }),
  // selftest: good then bad → entry_num 1. The SMMUv3 driver counts the first entry as handled
  // although it was only converted: the block is issued after the loop reaches its end, and the
  // loop stopped first, so nothing reaches the physical queue (spec/smmuv3.md §5.2 item 5).
  s('good entry then a bad opcode', { source: 'smmu: goto out before the block is issued, entry_num = cur − cmds; selftest partial failure', req: () => ({ entries: [VA, cmd('CMD_SYNC')] }), errno: 'EIO', entryNum: 1, hostCmds: 0, hostSyncs: 0 }),
  s('good entry then an unknown vSID', { source: 'smmu: arm_vsmmu_vsid_to_sid → EIO at index 1', req: () => ({ entries: [VA, cmd('CMD_CFGI_CD_ALL', { SID: 0x77 })] }), errno: 'EIO', entryNum: 1, hostCmds: 0 }),
  // 63 converted commands are one block (63 + CMD_SYNC); the 64th starts a second block.
  s('64 good entries: two blocks of 63 + 1, each with a sync', { source: 'smmu: CMDQ_BATCH_ENTRIES − 1 per block', req: () => ({ entries: Array.from({ length: 64 }, () => VA) }), errno: 0, entryNum: 64, hostCmds: 64, hostSyncs: 2 }),
  // 63 good (one block issued: 63 + sync) then a bad one at index 63 → EIO with entry_num 63.
  s('a bad opcode at index 63, after a full block was issued', { source: 'smmu: the first block went out; entry_num = 63', req: () => ({ entries: [...Array.from({ length: 63 }, () => VA), cmd('CMD_SYNC')] }), errno: 'EIO', entryNum: 63, hostCmds: 63, hostSyncs: 1 }),
  // A device that does not answer: the block's CMD_SYNC fails (CERROR_ATC_INV_SYNC on the host
  // queue); issue_cmdlist returns an error, `cur--` → the index of the block's last command.
  s('ATC time-out in a block of two', { source: 'smmu: failed arm_smmu_cmdq_issue_cmdlist → cur-- (ETIMEDOUT)', before: (h) => h.setAtcTimeout(0x8, true), req: () => ({ entries: [VA, ATC] }), errno: 'ETIMEDOUT', entryNum: 1 }),
];

// ---- VT-d --------------------------------------------------------------------------------------

const VTD_TOPO: Topology = {
  iommus: [{ id: 0, vmid: 0 }],
  devices: [
    { sid: 0x100, psid: 0x500, iommu: 0, ats: true, domain: 6, hwpt: 0 },
    { sid: 0x010, psid: 0x410, iommu: 0, ats: false, domain: 7, hwpt: 0 },
  ],
};
const PAGE: VtdUserEntry = { addr: 0x10_0000n, npages: 1n, flags: 0, reserved: 0 };
const v = (name: string, r: Omit<Row<VtdUserEntry>, 'name'>): Row<VtdUserEntry> => ({ name, ...r });
// One entry on the nested HWPT of DID 6 (one ATS device): P-IOTLB + device-TLB (host_cmd), + a wait (host_sync).
const ONE_ENTRY_CMDS = 2;

// One row per line, as the table reads (a row is one record of the spec or of the CLI):
// prettier-ignore
const VTD_ROWS: readonly Row<VtdUserEntry>[] = [
  s2v('entry_num = 0 (type probe)', { source: 'vtd: the loop runs 0 times, entry_num 0; selftest zero-length probe', req: () => ({ entries: [], entryNum: 0 }), errno: 0, entryNum: 0, hostCmds: 0 }),
  s2v('entry_num = 0 with a NULL array (data_uptr ignored)', { source: 'core: the NULL check needs entry_num > 0', req: () => ({ entries: null, entryNum: 0 }), errno: 0, entryNum: 0 }),
  v('unknown data_type', { source: 'vtd: type ≠ IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 → EINVAL; selftest invalid data_type', req: () => ({ entries: [PAGE], dataType: 7 }), errno: 'EINVAL', entryNum: 0, hostCmds: 0 }),
  v('unknown data_type with entry_num 0', { source: 'vtd: the type is checked before the loop', req: () => ({ entries: [], entryNum: 0, dataType: 7 }), errno: 'EINVAL', entryNum: 0 }),
  v('entry_len = 0', { source: 'core: entry_num && !entry_len; selftest invalid entry_len', req: () => ({ entries: [PAGE], entryLen: 0 }), errno: 'EINVAL', entryNum: 0 }),
  v('entry_len = 1 (below offsetofend(__reserved) = 24)', { source: 'entry: len < min_len → EINVAL; selftest entry_len 1', req: () => ({ entries: [PAGE], entryLen: 1 }), errno: 'EINVAL', entryNum: 0, hostCmds: 0 }),
  v('entry_len = size + 1, trailing byte nonzero', { source: 'uaccess: trailing bytes → E2BIG; selftest size+1', req: () => ({ entries: [{ ...PAGE, tail: [0xff] }], entryLen: 25 }), errno: 'E2BIG', entryNum: 0, hostCmds: 0 }),
  v('entry_len = size + 1, trailing byte zero', { source: 'uaccess: a zeroed tail is accepted', req: () => ({ entries: [{ ...PAGE, tail: [0] }], entryLen: 25 }), errno: 0, entryNum: 1, hostCmds: ONE_ENTRY_CMDS }),
  v('NULL data_uptr with entry_num 1', { source: 'core: entry_num && !data_uptr; selftest invalid data_uptr', req: () => ({ entries: null, entryNum: 1 }), errno: 'EINVAL', entryNum: 0 }),
  v('__reserved ≠ 0 in the ioctl', { source: 'core: cmd->__reserved → EOPNOTSUPP', req: () => ({ entries: [PAGE], reserved: 1 }), errno: 'EOPNOTSUPP', entryNum: 0 }),
  v('unknown flags in the entry', { source: 'vtd: flags & ~IOMMU_VTD_INV_FLAGS_LEAF → EOPNOTSUPP; selftest invalid flag', req: () => ({ entries: [{ ...PAGE, flags: 0xffffffff }] }), errno: 'EOPNOTSUPP', entryNum: 0, hostCmds: 0 }),
  v('__reserved ≠ 0 in the entry', { source: 'vtd: inv_entry.__reserved → EOPNOTSUPP', req: () => ({ entries: [{ ...PAGE, reserved: 1 }] }), errno: 'EOPNOTSUPP', entryNum: 0 }),
  v('addr not 4 KiB aligned', { source: 'vtd: !IS_ALIGNED(addr, VTD_PAGE_SIZE) → EINVAL', req: () => ({ entries: [{ ...PAGE, addr: 0x10_0800n }] }), errno: 'EINVAL', entryNum: 0, hostCmds: 0 }),
  v('npages = U64_MAX with addr ≠ 0', { source: 'vtd: (npages == U64_MAX) && addr → EINVAL', req: () => ({ entries: [{ ...PAGE, npages: U64_MAX }] }), errno: 'EINVAL', entryNum: 0 }),
  v('npages = U64_MAX with addr 0 (everything)', { source: 'vtd: the one legal U64_MAX form', req: () => ({ entries: [{ addr: 0n, npages: U64_MAX, flags: 0, reserved: 0 }] }), errno: 0, entryNum: 1, hostCmds: ONE_ENTRY_CMDS }),
  v('entry_num past the user buffer (per-entry copy)', { source: 'entry: copy_from_user of entry 1 faults; entry 0 already flushed', req: () => ({ entries: [PAGE], entryNum: 2 }), errno: 'EFAULT', entryNum: 1, hostCmds: ONE_ENTRY_CMDS }),
  v('NULL data_uptr on an unknown id: the array check comes before the lookup', { source: 'core: the entry_num/data_uptr check precedes iommufd_get_object', req: () => ({ entries: null, entryNum: 1, id: 999 }), errno: 'EINVAL', entryNum: 0 }),
  v('unknown data_type on the IOAS id: the object kind is checked first', { source: 'core: neither HWPT_NESTED nor VIOMMU → EINVAL before the driver', req: (ids) => ({ entries: [PAGE], id: ids.other, dataType: 7 }), errno: 'EINVAL', entryNum: 0 }),
  v('unknown object id', { source: 'core: iommufd_get_object → ENOENT', req: () => ({ entries: [PAGE], id: 999 }), errno: 'ENOENT', entryNum: 0 }),
  v('the IOAS id (selftest: a parent, non-nested HWPT is rejected)', { source: 'core: neither HWPT_NESTED nor VIOMMU → EINVAL', req: (ids) => ({ entries: [PAGE], id: ids.other }), errno: 'EINVAL', entryNum: 0 }),
  // selftest partial failure: the first entry is applied (its flush is on the host queue), the
  // second one fails; entry_num = 1.
  v('good entry then unknown flags', { source: 'vtd: break at index 1, processed = 1; selftest partial failure', req: () => ({ entries: [PAGE, { ...PAGE, flags: 0xffffffff }] }), errno: 'EOPNOTSUPP', entryNum: 1, hostCmds: ONE_ENTRY_CMDS }),
  v('good entry then an unaligned addr', { source: 'vtd: break at index 1, processed = 1', req: () => ({ entries: [PAGE, { ...PAGE, addr: 0x1001n }] }), errno: 'EINVAL', entryNum: 1, hostCmds: ONE_ENTRY_CMDS }),
  // The device does not answer: the host queue raises ITE, Linux retries and gives up; the flush
  // path returns void, so userspace sees success for every entry.
  v('device-TLB time-out on the host queue', { source: 'vtd: cache_tag_flush_range returns void (qi errors stay in the kernel)', before: (h) => h.setAtcTimeout(0x100, true), req: () => ({ entries: [PAGE] }), errno: 0, entryNum: 1 }),
];

function s2v(name: string, r: Omit<Row<VtdUserEntry>, 'name'>): Row<VtdUserEntry> {
  return { name, ...r };
}

function runRow<E>(
  row: Row<E>,
  make: (ops: HostOp[]) => { host: Smmuv3Host | VtdHost; ids: Ids; base: Omit<HwptInvalidate<E>, 'entries' | 'entryNum'> },
) {
  const ops: HostOp[] = [];
  const { host, ids, base } = make(ops);
  row.before?.(host);
  ops.length = 0;
  const r = row.req(ids);
  const req = { ...base, entryNum: r.entries?.length ?? 0, ...r } as HwptInvalidate<E>;
  const out = (host.invalidate as (q: HwptInvalidate<E>) => { errno: Errno | 0; entryNum: number })(req);
  return { out, hostCmds: ops.filter((o) => o.kind === 'host_cmd').length, hostSyncs: ops.filter((o) => o.kind === 'host_sync').length };
}

function smmuHost(ops: HostOp[]) {
  const host = new Smmuv3Host(SMMU_TOPO, (o) => ops.push(o));
  const target = host.objects[0]!.id;
  // Object ids in allocation order (replay/smmuv3/host.ts): 1 IOAS, 2 paging HWPT, 3 vIOMMU,
  // then per device its vDEVICE and nested HWPT.
  return {
    host,
    ids: { target, other: 1, nested: host.nestedHwpts.get(0x8)! },
    base: { id: target, dataType: DATA_ARM_SMMUV3, entryLen: 16 },
  };
}

function vtdHost(ops: HostOp[]) {
  const host = new VtdHost(VTD_TOPO, (o) => ops.push(o));
  const target = host.objects.find((o) => o.domain === 6)!.id;
  const ioas = [...Array(20).keys()].find((i) => host.kindOf(i) === 'ioas')!;
  return { host, ids: { target, other: ioas }, base: { id: target, dataType: IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, entryLen: 24 } };
}

describe('SMMUv3 vIOMMU: IOMMU_HWPT_INVALIDATE negative table (arm_vsmmu_cache_invalidate)', () => {
  it.each(SMMU_ROWS.map((r) => [r.name, r] as const))('%s', (_n, row) => {
    const { out, hostCmds, hostSyncs } = runRow(row, smmuHost);
    expect(out, row.source).toEqual({ errno: row.errno, entryNum: row.entryNum });
    if (row.hostCmds !== undefined) expect(hostCmds, `${row.source}: host commands`).toBe(row.hostCmds);
    if (row.hostSyncs !== undefined) expect(hostSyncs, `${row.source}: host syncs`).toBe(row.hostSyncs);
  });
});

describe('VT-d nested HWPT: IOMMU_HWPT_INVALIDATE negative table (intel_nested_cache_invalidate_user)', () => {
  it.each(VTD_ROWS.map((r) => [r.name, r] as const))('%s', (_n, row) => {
    const { out, hostCmds, hostSyncs } = runRow(row, vtdHost);
    expect(out, row.source).toEqual({ errno: row.errno, entryNum: row.entryNum });
    if (row.hostCmds !== undefined) expect(hostCmds, `${row.source}: host commands`).toBe(row.hostCmds);
    if (row.hostSyncs !== undefined) expect(hostSyncs, `${row.source}: host syncs`).toBe(row.hostSyncs);
  });
});

describe('the table can fail: a near-identical good call succeeds where each bad one fails', () => {
  // The control for every row whose errno is not 0: the same call with the default (good)
  // arguments gives errno 0 and entry_num = the entries given.
  it('SMMUv3: one TLBI_NH_VA on the vIOMMU', () => {
    const { out, hostCmds, hostSyncs } = runRow(s('good', { source: '', req: () => ({ entries: [VA] }), errno: 0, entryNum: 1 }), smmuHost);
    expect(out).toEqual({ errno: 0, entryNum: 1 });
    expect(hostCmds).toBe(1); // the converted command ...
    expect(hostSyncs).toBe(1); // ... and the block's CMD_SYNC
  });
  it('VT-d: one aligned page on the nested HWPT', () => {
    const { out, hostCmds, hostSyncs } = runRow(
      v('good', { source: '', req: () => ({ entries: [PAGE] }), errno: 0, entryNum: 1 }),
      vtdHost,
    );
    expect(out).toEqual({ errno: 0, entryNum: 1 });
    expect(hostCmds).toBe(ONE_ENTRY_CMDS);
    expect(hostSyncs).toBe(1); // one qi_submit_sync wait
  });
});
