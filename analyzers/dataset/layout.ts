// The Parquet result dataset's layout: hive partitions `table=NAME/trace=TRACE/policy=POLICY/
// part-0.parquet` under one folder, the layout DuckDB (`hive_partitioning`), Spark, Trino and
// pandas/pyarrow read as one table per NAME, with `trace` and `policy` as columns taken from the
// path (the files do not repeat them). Partition values are escaped as Spark escapes them
// (ExternalCatalogUtils.escapePathName: `%XX` for `"#%'*/:=?\{[]^`, DEL and control characters),
// so a variant such as `linear-batch:split_on_wrap=true` survives the round trip.

import { join } from 'node:path';

/** Characters a partition value may not hold as they are. */
const SPECIAL = /["#%'*/:=?\\{[\]^\x00-\x1f\x7f]/g;

export function escapePartition(value: string): string {
  return value.replace(SPECIAL, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

export function unescapePartition(value: string): string {
  return value.replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** The part file of one table, trace and policy. */
export function partPath(root: string, table: string, trace: string, policy: string): string {
  return join(root, `table=${table}`, `trace=${escapePartition(trace)}`, `policy=${escapePartition(policy)}`, 'part-0.parquet');
}

/** `key=value` of a folder name, unescaped; undefined when the name is not one. */
export function partitionOf(name: string, key: string): string | undefined {
  return name.startsWith(`${key}=`) ? unescapePartition(name.slice(key.length + 1)) : undefined;
}
