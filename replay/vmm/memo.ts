// A VMM's host entries kept per decoded command, for one queue run's host: what a forwarded guest
// command becomes (forward, forwardRaw, companionDevtlb; directForm, the words of its hw-direct
// form, depends on the command alone) depends only on the command, the host's
// objects and topology (fixed once the host is made, targets.ts) and the fan-out, and decoded
// commands are shared (replay/decode-cache.ts: every CMD_TLBI of one page alike), so each is
// worked out once instead of per command. The answers are shared arrays: callers read them and
// never change them (HostInv and its entry are readonly; the host copies what it converts).

import type { Decoded } from '../../formats/codec/codec.js';
import type { HostModel } from '../host.js';
import type { Fanout, HostInv, VmmArch } from './arch.js';

/** `map`'s answer for `d`, made by `make` on first use. */
function kept(map: WeakMap<Decoded, HostInv[]>, d: Decoded, make: (d: Decoded) => HostInv[]): HostInv[] {
  let out = map.get(d);
  if (out === undefined) map.set(d, (out = make(d)));
  return out;
}

/**
 * `vmm` with its host entries kept per decoded command for `host`; asked about another host, it
 * answers as `vmm` does, keeping nothing.
 */
export function memoVmm(vmm: VmmArch, host: HostModel): VmmArch {
  const all = new WeakMap<Decoded, HostInv[]>();
  const first = new WeakMap<Decoded, HostInv[]>();
  const raw = new WeakMap<Decoded, HostInv[]>();
  const companion = new WeakMap<Decoded, HostInv[]>();
  const direct = new WeakMap<Decoded, readonly bigint[]>();
  const forwardAll = (d: Decoded) => vmm.forward(d, host, 'all');
  const forwardFirst = (d: Decoded) => vmm.forward(d, host, 'first');
  const companionOf = (d: Decoded) => vmm.companionDevtlb(d, host);
  const rawOf = vmm.forwardRaw === undefined ? undefined : (d: Decoded) => vmm.forwardRaw!(d, host);
  return {
    arch: vmm.arch,
    dataType: vmm.dataType,
    entryLen: vmm.entryLen,
    owner: (d) => vmm.owner(d),
    illegal: (d) => vmm.illegal(d),
    execute: (d, h) => vmm.execute(d, h),
    directForm: (d) => {
      let out = direct.get(d);
      if (out === undefined) direct.set(d, (out = vmm.directForm(d)));
      return out;
    },
    hostFailure: (errno, d) => vmm.hostFailure(errno, d),
    forward: (d: Decoded, h: HostModel, fanout: Fanout) =>
      h !== host ? vmm.forward(d, h, fanout) : fanout === 'first' ? kept(first, d, forwardFirst) : kept(all, d, forwardAll),
    companionDevtlb: (d, h) => (h !== host ? vmm.companionDevtlb(d, h) : kept(companion, d, companionOf)),
    ...(rawOf !== undefined
      ? { forwardRaw: (d: Decoded, h: HostModel) => (h !== host ? vmm.forwardRaw!(d, h) : kept(raw, d, rawOf)) }
      : {}),
  };
}
