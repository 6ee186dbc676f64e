// A QEMU log capture written again in each of the three line prefixes QEMU's `log` trace backend
// writes (docs/ingest.md, formats): `tid@sec.usec:` (`-msg timestamp=on`, QEMU <= 10.0, the bundled
// captures' own), ISO-8601 `2025-07-21T18:43:28.089797Z ` (QEMU >= 10.1), and none. The tests and
// the ingest hash script feed every style to each reader, so one definition serves them all.

const TID_PREFIX = /^\d+@(\d+)\.(\d+):/gm;

/** The text with each line's `tid@sec.usec:` prefix written as QEMU 10.1 writes its time. */
export const isoPrefixed = (text: string): string =>
  text.replace(TID_PREFIX, (_, s: string, us: string) => `${new Date(Number(s) * 1000).toISOString().slice(0, 19)}.${us}Z `);

/** The text with each line's `tid@sec.usec:` prefix removed. */
export const unprefixed = (text: string): string => text.replace(TID_PREFIX, '');

/** The three styles of a capture's text, by name. */
export const prefixStyles = (text: string): { plain: string; iso: string; bare: string } => ({
  plain: text,
  iso: isoPrefixed(text),
  bare: unprefixed(text),
});
