// Named event counters a policy reports in its summary `detail` (compare --json, replay.json): one
// declaration of the names, in the order they are printed, instead of a class of fields plus a
// detail() that lists them again under their snake_case names.

/** Counters by the name they are reported under; every one starts at 0. */
export type Counters<K extends string> = Record<K, number>;

/** Counters named `names`, in that (reported) order. */
export function counters<K extends string>(...names: readonly K[]): Counters<K> {
  const c = {} as Counters<K>;
  for (const n of names) c[n] = 0;
  return c;
}
