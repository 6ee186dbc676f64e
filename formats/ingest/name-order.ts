// The order of event names in an ingest summary (and the trace header's sources): what
// `String#localeCompare` gives, without loading ICU's collator for the names it always sees. The
// first `localeCompare` of a process costs ~9 ms (the collator's set-up), more than the rest of a
// small ingest's summary. Event names are [a-z0-9_] (qemu-log.ts NAME, ftrace event names), and on
// those the root collation is plain lexicographic order with `_` < digits < letters (punctuation
// sorts before digits, digits before letters; one case, no accents, no contractions): compared
// here. Any other character is left to `localeCompare`.

/** The rank of an event-name character in the root collation (`_` < 0-9 < a-z), or -1. */
function rank(c: number): number {
  if (c >= 97 && c <= 122) return c - 97 + 11;
  if (c >= 48 && c <= 57) return c - 48 + 1;
  return c === 95 ? 0 : -1;
}

/** < 0, 0 or > 0 as `a.localeCompare(b)` (its sign). */
export function nameOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = rank(a.charCodeAt(i));
    const y = rank(b.charCodeAt(i));
    if (x < 0 || y < 0) return a.localeCompare(b);
    if (x !== y) return x - y;
  }
  for (let i = n; i < a.length; i++) if (rank(a.charCodeAt(i)) < 0) return a.localeCompare(b);
  for (let i = n; i < b.length; i++) if (rank(b.charCodeAt(i)) < 0) return a.localeCompare(b);
  return a.length - b.length;
}
