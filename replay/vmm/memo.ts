// A VMM's host entries kept per decoded command, for one queue run's host: what a forwarded guest
// command becomes (forward, forwardRaw, companionDevtlb; directForm, the words of its hw-direct
// form, depends on the command alone) depends only on the command, the host's
// objects and topology (fixed once the host is made, targets.ts) and the fan-out, and decoded
// commands are shared (replay/decode-cache.ts: every CMD_TLBI of one page alike), so each is
// worked out once instead of per command. The answers are shared arrays: callers read them and
// never change them (HostInv and its entry are readonly; the host copies what it converts).
// Who owns a command (`owner`, a table row and a feature check by name) is kept the same way.
// The answers are in tables indexed by the decoded command's key (replay/decoded-table.ts): a
// policy asks once or more per command, and a WeakMap by Decoded was a hash look-up each time.

import type { Decoded } from '../../formats/codec/codec.js';
import { DecodedTable } from '../decoded-table.js';
import type { HostModel } from '../host.js';
import type { Fanout, HostInv, Owner, VmmArch } from './arch.js';

/**
 * `vmm` with its host entries kept per decoded command for `host`; asked about another host, it
 * answers as `vmm` does, keeping nothing.
 */
export function memoVmm(vmm: VmmArch, host: HostModel): VmmArch {
  const all = new DecodedTable<HostInv[]>();
  const first = new DecodedTable<HostInv[]>();
  const raw = new DecodedTable<HostInv[]>();
  const companion = new DecodedTable<HostInv[]>();
  const direct = new DecodedTable<readonly bigint[]>();
  const owners = new DecodedTable<Owner>();
  const ownerOf = (d: Decoded) => vmm.owner(d);
  const directOf = (d: Decoded) => vmm.directForm(d);
  const forwardAll = (d: Decoded) => vmm.forward(d, host, 'all');
  const forwardFirst = (d: Decoded) => vmm.forward(d, host, 'first');
  const companionOf = (d: Decoded) => vmm.companionDevtlb(d, host);
  const rawOf = vmm.forwardRaw === undefined ? undefined : (d: Decoded) => vmm.forwardRaw!(d, host);
  return {
    arch: vmm.arch,
    dataType: vmm.dataType,
    entryLen: vmm.entryLen,
    owner: (d) => owners.of(d, ownerOf),
    illegal: (d) => vmm.illegal(d),
    execute: (d, h) => vmm.execute(d, h),
    directForm: (d) => direct.of(d, directOf),
    hostFailure: (errno, d) => vmm.hostFailure(errno, d),
    forward: (d: Decoded, h: HostModel, fanout: Fanout) =>
      h !== host ? vmm.forward(d, h, fanout) : fanout === 'first' ? first.of(d, forwardFirst) : all.of(d, forwardAll),
    companionDevtlb: (d, h) => (h !== host ? vmm.companionDevtlb(d, h) : companion.of(d, companionOf)),
    ...(rawOf !== undefined ? { forwardRaw: (d: Decoded, h: HostModel) => (h !== host ? vmm.forwardRaw!(d, h) : raw.of(d, rawOf)) } : {}),
  };
}
