// The capture formats `ingest` knows, for --format and --help (no implementation imports here).

export const INGEST_FORMATS = ['jsonl'] as const;
export type IngestFormat = (typeof INGEST_FORMATS)[number];
