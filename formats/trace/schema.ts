// The canonical trace table: one row per guest event (a command written into a queue slot, a
// doorbell, an error acknowledgement, an injected device fault). Common columns first, then one
// typed column per codec field (lower-case spec names), derived from the architecture's table.
// Column names are stable: scripts and the SQL views rely on them.

import { Field, Schema, type DataType } from 'apache-arrow';
import { FixedDictionary } from '../arrow/columns.js';
import { codecFor } from '../codecs.js';
import type { Arch } from '../codec/table.js';
import { HEADER_KEY, type TraceHeader } from './header.js';
import { Int32, Int64, Uint8, Uint16, Uint32, Uint64 } from 'apache-arrow';

/** What happened at a row. */
export const EVENT_KINDS = [
  'cmd', // a command/descriptor written into `slot` (raw words w0..w3)
  'doorbell', // the guest's producer write (CMDQ_PROD / IQT): `slot` = new producer index, `wrap` its wrap bit
  'ack', // the guest acknowledged a queue error (GERRORN write / FSTS.IQE|ITE clear)
  'atc_timeout', // from here on, the device `sid` does not answer ATS invalidations (injected fault)
  'atc_recover', // the device `sid` answers again
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** Which source a row came from. */
export const ORIGINS = ['jsonl', 'qemu', 'guest', 'merged', 'gen', 'dump'] as const;
export type Origin = (typeof ORIGINS)[number];

/** Validation error the hardware would raise for a command: CERROR_ILL, or IQE with its IQEI. */
export const ERROR_CODES = ['CERROR_ILL', 'IQE:3', 'IQE:4'] as const;

export const ROLES = ['invalidate', 'sync', 'other'] as const;
export const CACHES = ['iotlb', 'atc', 'devtlb', 'ste', 'cd', 'context', 'pasid', 'iec'] as const;

/**
 * Why the guest sent an IOTLB invalidation: after mapping (caching mode / tlbi-on-map: the unit may
 * cache non-present entries) or after unmapping. Recorded by the generator, inferred at ingest for
 * caching-mode captures (`cause_inferred` = 1), null when unknown.
 */
export const CAUSES = ['map', 'unmap'] as const;
export type Cause = (typeof CAUSES)[number];

export interface FieldColumn {
  /** Column name: lower-case field name (`asid`, `status_addr`). */
  readonly column: string;
  /** Spec field name (`ASID`). */
  readonly field: string;
  /** Bits needed: the widest use of this name across the table (addresses: 64). */
  readonly bits: number;
}

/** The field columns of an architecture: the union of its table's field names. */
export function fieldColumns(arch: Arch): readonly FieldColumn[] {
  const widths = new Map<string, number>();
  for (const op of codecFor(arch).ops) {
    for (const f of op.fields) widths.set(f.name, Math.max(widths.get(f.name) ?? 0, f.addr ? 64 : f.width));
  }
  return [...widths].map(([field, bits]) => ({ column: field.toLowerCase(), field, bits }));
}

export function typeForBits(bits: number): Uint8 | Uint16 | Uint32 | Uint64 {
  return bits <= 8 ? new Uint8() : bits <= 16 ? new Uint16() : bits <= 32 ? new Uint32() : new Uint64();
}

/** Op names of every possible opcode/type value: table names plus UNKNOWN_0x.. for the holes. */
function opNames(arch: Arch): string[] {
  const codec = codecFor(arch);
  const n = arch === 'smmuv3' ? 256 : 128;
  const out: string[] = [];
  for (let code = 0; code < n; code++) out.push(codec.lookup(code)?.def.name ?? `UNKNOWN_0x${code.toString(16).padStart(2, '0')}`);
  return out;
}

/** The fixed dictionaries of one architecture's trace files (ids are stable). */
export interface TraceDictionaries {
  readonly kind: FixedDictionary;
  readonly op: FixedDictionary;
  readonly error: FixedDictionary;
  readonly origin: FixedDictionary;
  readonly role: FixedDictionary;
  readonly cache: FixedDictionary;
  readonly cause: FixedDictionary;
}

const dictCache = new Map<Arch, TraceDictionaries>();

export function traceDictionaries(arch: Arch): TraceDictionaries {
  let d = dictCache.get(arch);
  if (d === undefined) {
    d = Object.freeze({
      kind: new FixedDictionary(0, EVENT_KINDS),
      op: new FixedDictionary(1, opNames(arch)),
      error: new FixedDictionary(2, ERROR_CODES),
      origin: new FixedDictionary(3, ORIGINS),
      role: new FixedDictionary(4, ROLES),
      cache: new FixedDictionary(5, CACHES),
      cause: new FixedDictionary(6, CAUSES),
    });
    dictCache.set(arch, d);
  }
  return d;
}

/** Common columns, in order. Documented in docs/trace-format.md. */
export function commonFields(arch: Arch): Field[] {
  const d = traceDictionaries(arch);
  return [
    new Field('seq', new Uint32(), false), // guest sequence number: row index in the trace
    new Field('kind', d.kind.type, false),
    new Field('ts_ns', new Int64(), true), // source timestamp in ns (clock named in the header notes)
    new Field('slot', new Uint32(), true), // queue index of the command, or the new producer index
    new Field('wrap', new Uint8(), true), // wrap bit of `slot` (SMMUv3 PROD/CONS bit N; VT-d: lap parity)
    new Field('w0', new Uint64(), true), // raw words (DW0/DW1, qw0..qw3)
    new Field('w1', new Uint64(), true),
    new Field('w2', new Uint64(), true),
    new Field('w3', new Uint64(), true),
    new Field('known0', new Uint64(), true), // bits of w0/w1 the source could tell; null = all
    new Field('known1', new Uint64(), true),
    new Field('op', d.op.type, true), // command name (SMMUv3 CMD_*, VT-d qi_submit type names)
    new Field('error', d.error.type, true), // what the hardware would raise for this command
    new Field('role', d.role.type, true), // invalidate | sync | other
    new Field('cache', d.cache.type, true), // cache an invalidation targets
    new Field('range_base', new Uint64(), true), // address range an invalidation covers
    new Field('range_bytes', new Uint64(), true), // null: not address-scoped or everything
    new Field('origin', d.origin.type, false),
    new Field('inferred', new Uint8(), false), // 1: restored, not seen in the source
    new Field('cpu', new Int32(), true), // guest CPU (ftrace) or host thread (QEMU), when known
    new Field('cause', d.cause.type, true), // map | unmap: why an IOTLB invalidation was sent; null = unknown
    new Field('cause_inferred', new Uint8(), true), // 1: cause inferred at ingest, 0: recorded; null with no cause
  ];
}

/**
 * The `queue` column of a trace with several guest queues (header `queues`): which queue a row
 * belongs to. Absent from one-queue traces, whose bytes stay what they were (every row is queue 0).
 */
export const queueField = (): Field => new Field('queue', new Uint8(), false);

export function traceSchema(header: TraceHeader): Schema {
  const common = commonFields(header.arch);
  // Right after `seq`: the queue a row belongs to comes first in a multi-queue trace.
  if (header.queues !== undefined) common.splice(1, 0, queueField());
  const fields = [...common, ...fieldColumns(header.arch).map((c) => new Field(c.column, typeForBits(c.bits) as DataType, true))];
  return new Schema(fields, new Map([[HEADER_KEY, JSON.stringify(header)]]));
}
