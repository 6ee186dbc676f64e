// The canonical trace table's fields as plain data (formats/arrow/ipc-model.ts): one row per guest
// event (a command written into a queue slot, a doorbell, an error acknowledgement, an injected
// device fault). Common columns first, then one typed column per codec field (lower-case spec
// names), derived from the architecture's table. Column names are stable: scripts and the SQL views
// rely on them. formats/trace/schema.ts gives the same as apache-arrow's Schema.

import { StringDictionary } from '../arrow/dictionary.js';
import { I32, I16, I64, U8, U16, U32, U64, type IntType, type IpcField, type IpcSchema } from '../arrow/ipc-model.js';
import { codecFor } from '../codecs.js';
import type { Arch } from '../codec/table.js';
import { HEADER_KEY, type TraceHeader } from './header.js';

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

/** The unsigned type of a field column of `bits` bits. */
export function intForBits(bits: number): IntType {
  return bits <= 8 ? U8 : bits <= 16 ? U16 : bits <= 32 ? U32 : U64;
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
  readonly kind: StringDictionary;
  readonly op: StringDictionary;
  readonly error: StringDictionary;
  readonly origin: StringDictionary;
  readonly role: StringDictionary;
  readonly cache: StringDictionary;
  readonly cause: StringDictionary;
}

const dictCache = new Map<Arch, TraceDictionaries>();

export function traceDictionaries(arch: Arch): TraceDictionaries {
  let d = dictCache.get(arch);
  if (d === undefined) {
    d = Object.freeze({
      kind: new StringDictionary(0, EVENT_KINDS),
      op: new StringDictionary(1, opNames(arch)),
      error: new StringDictionary(2, ERROR_CODES),
      origin: new StringDictionary(3, ORIGINS),
      role: new StringDictionary(4, ROLES),
      cache: new StringDictionary(5, CACHES),
      cause: new StringDictionary(6, CAUSES),
    });
    dictCache.set(arch, d);
  }
  return d;
}

const field = (name: string, type: IntType, nullable: boolean): IpcField => ({ name, type, nullable });
/** A string column coded by Int16 over `dictionary`. */
const coded = (name: string, dictionary: StringDictionary, nullable: boolean): IpcField => ({ name, type: I16, nullable, dictionary });

/** Common columns, in order. Documented in docs/trace-format.md. */
export function commonIpcFields(arch: Arch): IpcField[] {
  const d = traceDictionaries(arch);
  return [
    field('seq', U32, false), // guest sequence number: row index in the trace
    coded('kind', d.kind, false),
    field('ts_ns', I64, true), // source timestamp in ns (clock named in the header notes)
    field('slot', U32, true), // queue index of the command, or the new producer index
    field('wrap', U8, true), // wrap bit of `slot` (SMMUv3 PROD/CONS bit N; VT-d: lap parity)
    field('w0', U64, true), // raw words (DW0/DW1, qw0..qw3)
    field('w1', U64, true),
    field('w2', U64, true),
    field('w3', U64, true),
    field('known0', U64, true), // bits of w0/w1 the source could tell; null = all
    field('known1', U64, true),
    coded('op', d.op, true), // command name (SMMUv3 CMD_*, VT-d qi_submit type names)
    coded('error', d.error, true), // what the hardware would raise for this command
    coded('role', d.role, true), // invalidate | sync | other
    coded('cache', d.cache, true), // cache an invalidation targets
    field('range_base', U64, true), // address range an invalidation covers
    field('range_bytes', U64, true), // null: not address-scoped or everything
    coded('origin', d.origin, false),
    field('inferred', U8, false), // 1: restored, not seen in the source
    field('cpu', I32, true), // guest CPU (ftrace) or host thread (QEMU), when known
    coded('cause', d.cause, true), // map | unmap: why an IOTLB invalidation was sent; null = unknown
    field('cause_inferred', U8, true), // 1: cause inferred at ingest, 0: recorded; null with no cause
  ];
}

/**
 * The `queue` column of a trace with several guest queues (header `queues`): which queue a row
 * belongs to. Absent from one-queue traces, whose bytes stay what they were (every row is queue 0).
 */
export const queueIpcField = (): IpcField => field('queue', U8, false);

/** The trace's fields. */
export function traceFields(header: TraceHeader): IpcField[] {
  const common = commonIpcFields(header.arch);
  // Right after `seq`: the queue a row belongs to comes first in a multi-queue trace.
  if (header.queues !== undefined) common.splice(1, 0, queueIpcField());
  return [...common, ...fieldColumns(header.arch).map((c) => field(c.column, intForBits(c.bits), true))];
}

/** The trace's schema: its fields, and the header as the schema's metadata. */
export function traceIpcSchema(header: TraceHeader): IpcSchema {
  return { fields: traceFields(header), metadata: new Map([[HEADER_KEY, JSON.stringify(header)]]) };
}
