// The canonical trace table (formats/trace/fields.ts) as apache-arrow's Schema and Fields, for
// readers, analyzers and tests; the names and types come from fields.ts (the codec tables).

import type { Schema, Field } from 'apache-arrow';
import { Uint8, Uint16, Uint32, Uint64 } from 'apache-arrow';
import { arrowField, arrowSchema } from '../arrow/to-arrow.js';
import type { Arch } from '../codec/table.js';
import type { TraceHeader } from './header.js';
import { commonIpcFields, queueIpcField, traceIpcSchema } from './fields.js';

export {
  CACHES,
  CAUSES,
  ERROR_CODES,
  EVENT_KINDS,
  ORIGINS,
  ROLES,
  fieldColumns,
  traceDictionaries,
  type Cause,
  type EventKind,
  type FieldColumn,
  type Origin,
  type TraceDictionaries,
} from './fields.js';

export function typeForBits(bits: number): Uint8 | Uint16 | Uint32 | Uint64 {
  return bits <= 8 ? new Uint8() : bits <= 16 ? new Uint16() : bits <= 32 ? new Uint32() : new Uint64();
}

/** Common columns, in order. Documented in docs/trace-format.md. */
export function commonFields(arch: Arch): Field[] {
  return commonIpcFields(arch).map(arrowField);
}

/** The `queue` column of a trace with several guest queues (fields.ts queueIpcField). */
export const queueField = (): Field => arrowField(queueIpcField());

export function traceSchema(header: TraceHeader): Schema {
  return arrowSchema(traceIpcSchema(header));
}
