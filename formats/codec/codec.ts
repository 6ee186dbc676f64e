// The table-driven codec: decodes, validates and encodes commands of either architecture from its
// declarative table (formats/smmuv3/commands.ts, formats/vtd/descriptors.ts). Reserved bits are
// whatever no field of the opcode claims; validation reports what the hardware would.

import { hex, maskOf, widthOf, type BitRange } from '../bits.js';
import { fail, ok, type Result } from '../result.js';
import type { Arch, ArchTable, CmdError, FieldDef, OpDef } from './table.js';

export type FieldValues = Readonly<Record<string, bigint>>;

/** A decoded command: what the hardware would see in one queue slot. */
export interface Decoded {
  readonly arch: Arch;
  /** Opcode (SMMUv3) or descriptor type (VT-d, including high type bits). */
  readonly code: number;
  /** Table name, or `UNKNOWN_0x..` for an unknown opcode/type. */
  readonly name: string;
  readonly def: OpDef | undefined;
  readonly words: readonly bigint[];
  /** Every field of the opcode by spec name; addresses in place. */
  readonly fields: FieldValues;
  /** Set when the hardware would refuse the command (CERROR_ILL, IQE). */
  readonly error: CmdError | undefined;
  /**
   * A small number the decode cache that made this value gave it (replay/decode-cache.ts), -1 when
   * none did: the index of its answers in per-command tables (replay/decoded-table.ts), which
   * check the entry is this very value (two caches' keys may meet in one table).
   */
  readonly key: number;
}

export interface DecodeOptions {
  /** Slot width of the queue: VT-d 16 (legacy) or 32 (IQA.DW=1). Default: from the word count. */
  readonly descBytes?: 16 | 32;
}

interface Part {
  readonly w: number;
  readonly lo: bigint;
  readonly mask: bigint; // unshifted (width ones)
  readonly at: bigint; // bit offset of this part within the value
}

export interface CompiledField {
  readonly def: FieldDef;
  readonly name: string;
  readonly parts: readonly Part[];
  readonly addr: boolean;
  /** Total width in bits (for addresses: the top bit + 1, the value is kept in place). */
  readonly width: number;
  readonly inPlaceMask: bigint;
}

export interface CompiledOp {
  readonly def: OpDef;
  readonly fields: readonly CompiledField[];
  /** Per word: bits claimed by the opcode and the fields; the rest are reserved. */
  readonly used: readonly bigint[];
  /** Per word: the reserved bits (64-bit complement of `used`). */
  readonly reserved: readonly bigint[];
  /** Fields that have reserved encodings, with them. */
  readonly reservedValues: readonly { readonly field: CompiledField; readonly values: ReadonlySet<number> }[];
}

const opName = (code: number) => `UNKNOWN_0x${code.toString(16).padStart(2, '0')}`;

function compileField(def: FieldDef): CompiledField {
  let at = 0n;
  const parts = def.parts.map((r: BitRange) => {
    const p = { w: r.w, lo: BigInt(r.lo), mask: (1n << BigInt(widthOf(r))) - 1n, at };
    at += BigInt(widthOf(r));
    return p;
  });
  if (def.addr && def.parts.length !== 1) throw new Error(`table: address field ${def.name} must be one range`);
  const first = def.parts[0]!;
  return {
    def,
    name: def.name,
    parts,
    addr: def.addr === true,
    width: def.addr ? first.hi + 1 : Number(at),
    inPlaceMask: maskOf(first),
  };
}

export class Codec {
  readonly arch: Arch;
  private readonly byCode = new Map<number, CompiledOp>();
  private readonly byName = new Map<string, CompiledOp>();
  private readonly opcodeParts: readonly Part[];

  constructor(readonly table: ArchTable) {
    this.arch = table.arch;
    this.opcodeParts = compileField({ name: 'OPCODE', parts: table.opcode, doc: '' }).parts;
    const opcodeMask = new Array<bigint>(table.maxWords).fill(0n);
    for (const r of table.opcode) opcodeMask[r.w]! |= maskOf(r);
    for (const def of table.ops) {
      const used = [...opcodeMask];
      const fields = def.fields.map(compileField);
      const claimed = new Array<bigint>(table.maxWords).fill(0n);
      for (const f of def.fields) {
        for (const r of f.parts) {
          if ((claimed[r.w]! & maskOf(r)) !== 0n) throw new Error(`table: ${def.name}.${f.name} overlaps another field`);
          claimed[r.w]! |= maskOf(r);
          used[r.w]! |= maskOf(r);
        }
      }
      const reserved = used.map((u) => ~u & 0xffffffffffffffffn);
      const reservedValues = fields.filter((f) => f.def.reserved?.length).map((f) => ({ field: f, values: new Set(f.def.reserved) }));
      const op: CompiledOp = { def, fields, used, reserved, reservedValues };
      if (this.byCode.has(def.code)) throw new Error(`table: duplicate code ${hex(def.code)}`);
      this.byCode.set(def.code, op);
      for (const n of [def.name, ...(def.aka ?? [])]) this.byName.set(normalize(n), op);
      if (table.arch === 'smmuv3' && def.name.startsWith('CMD_')) this.byName.set(normalize(def.name.slice(4)), op);
    }
  }

  /** Every opcode of the table, compiled, in table order. */
  get ops(): readonly CompiledOp[] {
    return this.table.ops.map((d) => this.byCode.get(d.code)!);
  }

  /** Looks an opcode up by name (spec, Linux or QEMU spelling, any case) or by number. */
  lookup(op: string | number): CompiledOp | undefined {
    if (typeof op === 'number') return this.byCode.get(op);
    const byName = this.byName.get(normalize(op));
    if (byName) return byName;
    const n = /^(0x[0-9a-f]+|[0-9]+)$/i.test(op.trim()) ? Number(op) : NaN;
    return Number.isInteger(n) ? this.byCode.get(n) : undefined;
  }

  opcodeOf(words: readonly bigint[]): number {
    let v = 0n;
    for (const p of this.opcodeParts) v |= ((words[p.w]! >> p.lo) & p.mask) << p.at;
    return Number(v);
  }

  /** The command `words` hold; `key`: its Decoded.key (a decode cache's number, else -1). */
  decode(words: readonly bigint[], opts: DecodeOptions = {}, key = -1): Decoded {
    const code = this.opcodeOf(words);
    const op = this.byCode.get(code);
    const fields: Record<string, bigint> = {};
    const reject = this.table.reject;
    if (op === undefined) {
      const what = this.arch === 'vtd' ? 'invalid descriptor type' : 'unknown opcode';
      return {
        arch: this.arch,
        code,
        name: opName(code),
        def: undefined,
        words,
        fields,
        error: reject('unknown-op', `${what} ${hex(code)}`),
        key,
      };
    }
    for (const f of op.fields) fields[f.name] = extract(f, words);
    let error: CmdError | undefined;
    const descBytes = opts.descBytes ?? words.length * 8;
    if (op.def.wideOnly && descBytes < 32) {
      // QEMU rejects PASID-based types in a 128-bit queue ("256-bit desc in 128-bit queue").
      error = reject('width', `${op.def.name} needs a 256-bit descriptor queue (IQA.DW=1)`);
    }
    for (let w = 0; w < words.length && error === undefined; w++) {
      const rsv = words[w]! & (op.reserved[w] ?? 0xffffffffffffffffn);
      if (rsv !== 0n) {
        const name = this.table.wordName(w);
        error = reject('reserved-bits', `reserved bits set in ${name}: ${hex(rsv)}`, name);
      }
    }
    for (const { field, values } of op.reservedValues) {
      if (error !== undefined) break;
      const v = Number(fields[field.name]!);
      if (values.has(v)) error = reject('reserved-value', `reserved encoding ${field.name}=${v}`, field.name);
    }
    return { arch: this.arch, code, name: op.def.name, def: op.def, words, fields, error, key };
  }

  /**
   * Builds a command's words from field values; fields left out are zero. Fails on an unknown
   * opcode or field, or a value that does not fit its field.
   */
  encode(opName: string | number, values: Readonly<Record<string, bigint | number>>, words?: number): Result<bigint[]> {
    const op = this.lookup(opName);
    if (op === undefined) return fail({ message: `unknown ${this.arch} command ${String(opName)}` });
    const n = words ?? 2;
    if (n !== 2 && n !== this.table.maxWords)
      return fail({ message: `a ${this.arch} command has 2 or ${this.table.maxWords} words, not ${n}` });
    const out = new Array<bigint>(n).fill(0n);
    for (const p of this.opcodeParts) out[p.w]! |= ((BigInt(op.def.code) >> p.at) & p.mask) << p.lo;
    const known = new Map(op.fields.map((f) => [f.name, f]));
    for (const [rawName, rawValue] of Object.entries(values)) {
      const f = known.get(rawName.toUpperCase());
      if (f === undefined) return fail({ field: rawName, message: `${op.def.name} has no field ${rawName}` });
      const v = BigInt(rawValue);
      if (v < 0n) return fail({ field: f.name, message: `negative value ${v}` });
      if (f.addr) {
        if ((v & ~f.inPlaceMask) !== 0n) {
          return fail({ field: f.name, message: `${hex(v)} does not fit ${f.name} (bits outside ${hex(f.inPlaceMask)})` });
        }
        out[f.parts[0]!.w]! |= v;
        continue;
      }
      if (v >> BigInt(f.width) !== 0n) return fail({ field: f.name, message: `${hex(v)} does not fit in ${f.width} bits` });
      for (const p of f.parts) out[p.w]! |= ((v >> p.at) & p.mask) << p.lo;
    }
    if (this.opcodeOf(out) !== op.def.code) {
      return fail({ message: `field values overlap the ${op.def.name} type bits` });
    }
    return ok(out);
  }
}

function extract(f: CompiledField, words: readonly bigint[]): bigint {
  if (f.addr) return (words[f.parts[0]!.w] ?? 0n) & f.inPlaceMask;
  let v = 0n;
  for (const p of f.parts) v |= (((words[p.w] ?? 0n) >> p.lo) & p.mask) << p.at;
  return v;
}

const normalize = (s: string) => s.trim().toUpperCase().replace(/-/g, '_');
