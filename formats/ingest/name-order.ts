// The order of event and op names in an ingest summary (and the trace header's sources): what
// `String#localeCompare` gives, without loading ICU's collator for the names it always sees. The
// first `localeCompare` of a process costs ~9 ms (the collator's set-up; 10-20 ms in an SMMUv3
// ingest under load), more than the rest of a small ingest's summary. Event names are [a-z0-9_]
// (qemu-log.ts NAME, ftrace event names), SMMUv3 op names [A-Z0-9_] (`CMD_TLBI_NH_VA`). On those the
// root collation is, first, lexicographic order with `_` < digits < letters and a letter's two cases
// equal (punctuation sorts before digits, digits before letters; no accents, no contractions); a
// shorter name whose characters all match comes first; between two names that differ only in case,
// the first case difference decides, lower case first (the tertiary level). Compared here. Any
// other character is left to `localeCompare`.

/** The rank of a name character in the root collation's first level (`_` < 0-9 < a-z = A-Z), or -1. */
function rank(c: number): number {
  if (c >= 97 && c <= 122) return c - 97 + 11;
  if (c >= 65 && c <= 90) return c - 65 + 11;
  if (c >= 48 && c <= 57) return c - 48 + 1;
  return c === 95 ? 0 : -1;
}

/** < 0, 0 or > 0 as `a.localeCompare(b)` (its sign). */
export function nameOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  // The first case difference: < 0 where `a` has the lower-case letter.
  let byCase = 0;
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    const x = rank(ca);
    const y = rank(cb);
    if (x < 0 || y < 0) return a.localeCompare(b);
    if (x !== y) return x - y;
    if (byCase === 0 && ca !== cb) byCase = cb - ca; // the same letter: 'a' - 'A' = 32, lower after upper in code units
  }
  for (let i = n; i < a.length; i++) if (rank(a.charCodeAt(i)) < 0) return a.localeCompare(b);
  for (let i = n; i < b.length; i++) if (rank(b.charCodeAt(i)) < 0) return a.localeCompare(b);
  return a.length - b.length || byCase;
}
