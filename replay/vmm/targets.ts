// Which iommufd objects of a host a forwarded guest command goes to, looked up by number: the
// objects holding a guest device (SID), those holding a device of a guest domain (SMMUv3 ASID /
// VT-d DID), and every object. A host's objects and topology are fixed once it is made, so each
// answer is computed on first use and kept with that host (no array built per command).

import type { HostModel } from '../host.js';

export interface ObjectTargets {
  /** Ids of the objects holding guest device `sid`, in topology order. */
  ofDevice(sid: number): readonly number[];
  /** Ids of the objects holding a device of guest domain `domain` (device.domain), in topology order. */
  ofDomainDevices(domain: number): readonly number[];
  /** Ids of the objects whose own `domain` is `did` (VT-d nested HWPTs), in topology order. */
  ofObjectDomain(did: number): readonly number[];
  /** Every object's id, in order. */
  readonly all: readonly number[];
}

class Targets implements ObjectTargets {
  readonly all: readonly number[];
  private readonly device = new Map<number, readonly number[]>();
  private readonly domainDevices = new Map<number, readonly number[]>();
  private readonly objectDomain = new Map<number, readonly number[]>();

  constructor(private readonly host: HostModel) {
    this.all = host.objects.map((o) => o.id);
  }

  ofDevice(sid: number): readonly number[] {
    let ids = this.device.get(sid);
    if (ids === undefined) this.device.set(sid, (ids = this.holding([sid])));
    return ids;
  }

  ofDomainDevices(domain: number): readonly number[] {
    let ids = this.domainDevices.get(domain);
    if (ids === undefined) {
      const sids = this.host.topology.devices.filter((x) => x.domain === domain).map((x) => x.sid);
      this.domainDevices.set(domain, (ids = this.holding(sids)));
    }
    return ids;
  }

  ofObjectDomain(did: number): readonly number[] {
    let ids = this.objectDomain.get(did);
    if (ids === undefined) this.objectDomain.set(did, (ids = this.host.objects.filter((o) => o.domain === did).map((o) => o.id)));
    return ids;
  }

  private holding(sids: readonly number[]): readonly number[] {
    return this.host.objects.filter((o) => o.devices.some((s) => sids.includes(s))).map((o) => o.id);
  }
}

/** Made once per host object: a cache of answers about that host's fixed objects, not shared state. */
const made = new WeakMap<HostModel, Targets>();

export function targetsOf(host: HostModel): ObjectTargets {
  let t = made.get(host);
  if (t === undefined) made.set(host, (t = new Targets(host)));
  return t;
}
