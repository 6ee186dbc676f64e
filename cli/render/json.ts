// JSON for scripts: bigints become numbers when exact, hex strings otherwise.

export function jsonReplacer(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : `0x${v.toString(16)}`;
  return v;
}

export function toJson(v: unknown, pretty = true): string {
  return JSON.stringify(v, jsonReplacer, pretty ? 2 : undefined);
}
