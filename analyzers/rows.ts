// Query results (Arrow tables) as plain rows for tests, JSON and text output. 64-bit integers
// become numbers when exact and stay bigint otherwise; everything else is Arrow's JS value.

import { DataType, util, type Table } from 'apache-arrow';

export type Cell = string | number | bigint | boolean | null | Cell[] | { [k: string]: Cell };

export function plain(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (v instanceof Date) return v.toISOString();
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return plain((v as { toJSON(): unknown }).toJSON());
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.from(v as ArrayLike<unknown>, plain);
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- only a symbol or a function is left here
  return String(v);
}

type BigNum = Parameters<typeof util.bigNumToBigInt>[0];

/**
 * How to read one column's values. DuckDB sends HUGEINT (sum() of integers) and DECIMAL as Arrow
 * Decimal128, whose JS values are word arrays: they become bigint/number here (apache-arrow 21's
 * bigNumToBigInt answers a decimal string for these, hence the BigInt(String(...))).
 */
export function cellReader(type: DataType): (v: unknown) => Cell {
  if (DataType.isDecimal(type)) {
    const scale = type.scale;
    /* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- a Decimal cell is Arrow's BN; its .d.ts generic differs */
    return (v) =>
      v === null || v === undefined
        ? null
        : scale === 0
          ? plain(BigInt(String(util.bigNumToBigInt(v as BigNum))))
          : util.bigNumToNumber(v as BigNum, scale);
    /* eslint-enable @typescript-eslint/no-unsafe-class-instance-assignment */
  }
  // Nested values are read child by child, so a HUGEINT inside a struct or list converts too.
  if (DataType.isStruct(type)) {
    const kids = type.children.map((f) => [f.name, cellReader(f.type as DataType)] as const);
    return (v) =>
      v === null || v === undefined ? null : Object.fromEntries(kids.map(([n, read]) => [n, read((v as Record<string, unknown>)[n])]));
  }
  if (DataType.isList(type)) {
    const read = cellReader(type.children[0]!.type as DataType);
    return (v) => (v === null || v === undefined ? null : Array.from(v as Iterable<unknown>, read));
  }
  return plain;
}

/** The rows of a result, column order kept. */
export function tableRows(t: Table): Record<string, Cell>[] {
  const names = t.schema.fields.map((f) => f.name);
  const cols = names.map((_, i) => t.getChildAt(i)!);
  const readers = t.schema.fields.map((f) => cellReader(f.type as DataType));
  const out: Record<string, Cell>[] = [];
  for (let r = 0; r < t.numRows; r++) {
    const row: Record<string, Cell> = {};
    names.forEach((n, i) => (row[n] = readers[i]!(cols[i]!.get(r))));
    out.push(row);
  }
  return out;
}
