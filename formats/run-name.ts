// A run's short name from the files it came from: `qemu-vtd-legacy-strict.log.gz` +
// `guest-vtd-legacy-strict.txt.gz` -> `vtd-legacy-strict`; a file's name without its extensions
// otherwise. Report titles, CI trace names and ingested-trace file names use it.

import { basename } from 'node:path';

export function runName(files: readonly string[]): string {
  const names = [
    ...new Set(
      files.map((f) =>
        basename(f)
          .replace(/(\.(gz|log|txt|jsonl|arrow))+$/, '')
          .replace(/^(qemu|guest|console)-/, ''),
      ),
    ),
  ];
  return names.join(' + ');
}
