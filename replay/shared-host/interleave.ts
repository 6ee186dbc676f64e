// The order in which several VMs' doorbells reach the shared host. `time`: by when each doorbell
// was rung, each trace's clock starting at its own first event (the VMs start together), ties to
// the VM listed first; `round-robin`: one doorbell of each VM in turn, for traces without
// timestamps (hand-written scenarios) or to load the host as hard as the VMs can go. The default
// is `time` when every trace has timestamps, else `round-robin`.

export const INTERLEAVES = ['time', 'round-robin'] as const;
export type Interleave = (typeof INTERLEAVES)[number];

export function parseInterleave(s: string): Interleave | undefined {
  return (INTERLEAVES as readonly string[]).includes(s) ? (s as Interleave) : undefined;
}

/** `time` when every VM's first doorbell carries a timestamp, else `round-robin`. */
export function defaultInterleave(firstAtUs: readonly (number | undefined)[]): Interleave {
  return firstAtUs.every((t) => t !== undefined) ? 'time' : 'round-robin';
}

/**
 * The VM whose next segment goes next. `heads[v]`: null when VM v has nothing left, else the time
 * of its next doorbell (undefined: none known); `last`: the VM that went last (-1 at the start).
 * Returns -1 when every VM is done.
 */
export function pickNext(mode: Interleave, heads: readonly (number | undefined | null)[], last: number): number {
  const n = heads.length;
  if (mode === 'round-robin') {
    for (let k = 1; k <= n; k++) {
      const v = (last + k + n) % n;
      if (heads[v] !== null) return v;
    }
    return -1;
  }
  let best = -1;
  let bestAt = Infinity;
  for (let v = 0; v < n; v++) {
    const h = heads[v];
    if (h === null) continue;
    // A segment without a timestamp goes as soon as it is reached (it cannot be placed in time).
    const at = h === undefined ? -Infinity : h;
    if (best === -1 || at < bestAt) {
      best = v;
      bestAt = at;
    }
  }
  return best;
}
