// `invtrace decode --arch smmuv3|vtd WORD...`: one command from its raw words, every field with
// its bit range, derived values, scope, and the error the hardware would raise.
// `--list` prints the command table itself.

import { hex, parseU64, rangeLabel } from '../../formats/bits.js';
import { classify, derive } from '../../formats/classify.js';
import type { Decoded } from '../../formats/codec/codec.js';
import type { Arch } from '../../formats/codec/table.js';
import { codecFor } from '../../formats/codecs.js';
import { describeScope } from '../../formats/scope.js';
import { toJson } from '../render/json.js';
import { renderTable } from '../render/table.js';
import { out, UsageError } from '../run.js';

export interface DecodeOptions {
  readonly arch: Arch;
  readonly json?: boolean;
  readonly descBytes?: string;
  readonly list?: boolean;
}

export function decodeJson(d: Decoded, descBytes?: 16 | 32): Record<string, unknown> {
  const cls = classify(d);
  const fields: Record<string, number | string> = {};
  const named: Record<string, string> = {};
  for (const f of d.def?.fields ?? []) {
    const v = d.fields[f.name]!;
    fields[f.name.toLowerCase()] = f.addr || v > BigInt(Number.MAX_SAFE_INTEGER) ? hex(v) : Number(v);
    const name = f.values && Object.entries(f.values).find(([, x]) => BigInt(x) === v)?.[0];
    if (name) named[f.name.toLowerCase()] = name;
  }
  return {
    arch: d.arch,
    op: d.name,
    code: d.code,
    words: d.words.map(hex),
    ...(descBytes ? { desc_bytes: descBytes } : {}),
    valid: d.error === undefined,
    error: d.error ? { code: d.error.code, value: d.error.value, field: d.error.field ?? null, message: d.error.message } : null,
    fields,
    named,
    derived: derive(d),
    role: cls.role,
    scope: cls.scope ? describeScope(cls.scope) : null,
  };
}

function decodeText(d: Decoded): string {
  const codec = codecFor(d.arch);
  const lines = [`${d.name} (${hex(d.code)})${d.def ? `  ${d.def.doc}` : ''}`];
  if (d.def) {
    const rows = d.def.fields.map((f) => {
      const v = d.fields[f.name]!;
      const name = f.values && Object.entries(f.values).find(([, x]) => BigInt(x) === v)?.[0];
      const shown = f.addr ? hex(v) : `${hex(v)}${v > 9n ? ` (${v})` : ''}${name ? ` ${name}` : ''}`;
      return [f.name, f.parts.map((p) => rangeLabel(p, codec.table.wordName)).join(' + '), shown];
    });
    lines.push(renderTable(['field', 'bits', 'value'], rows, { indent: '  ', rightAlign: [] }));
  }
  for (const [k, v] of Object.entries(derive(d))) lines.push(`  ${k}: ${v}`);
  const cls = classify(d);
  lines.push(`  role: ${cls.role}${cls.scope ? `; scope: ${describeScope(cls.scope)}` : ''}`);
  lines.push(
    d.error
      ? `  error: ${d.error.code}${d.error.code === 'IQE' ? ` (IQERCD.IQEI=${d.error.value})` : ''}: ${d.error.message}`
      : '  valid: yes',
  );
  return lines.join('\n');
}

function listText(arch: Arch): string {
  const codec = codecFor(arch);
  const out: string[] = [];
  for (const op of codec.ops) {
    out.push(`${hex(op.def.code).padEnd(5)} ${op.def.name.padEnd(20)} ${op.def.doc}${op.def.wideOnly ? ' [256-bit queues only]' : ''}`);
    for (const f of op.def.fields) {
      const bits = f.parts.map((p) => rangeLabel(p, codec.table.wordName)).join(' + ');
      const vals = f.values
        ? ` (${Object.entries(f.values)
            .map(([n, v]) => `${v}=${n}`)
            .join(', ')})`
        : '';
      out.push(`        ${f.name.padEnd(12)} ${bits.padEnd(22)} ${f.doc}${vals}`);
    }
    if (op.def.note) out.push(`        note: ${op.def.note}`);
  }
  return out.join('\n');
}

export async function decodeCommand(wordArgs: string[], opts: DecodeOptions): Promise<number> {
  if (opts.list) {
    out(listText(opts.arch));
    return 0;
  }
  const codec = codecFor(opts.arch);
  const words = wordArgs.map((w, i) => {
    const v = parseU64(w);
    if (v === undefined) throw new UsageError(`word ${i}: "${w}" is not a 64-bit value (hex 0x... or decimal)`);
    return v;
  });
  const allowed = opts.arch === 'vtd' ? [2, 4] : [2];
  if (!allowed.includes(words.length)) throw new UsageError(`${opts.arch} takes ${allowed.join(' or ')} words, got ${words.length}`);
  const descBytes = opts.descBytes === undefined ? undefined : Number(opts.descBytes);
  if (descBytes !== undefined && descBytes !== 16 && descBytes !== 32) throw new UsageError('--desc-bytes is 16 or 32');
  const d = codec.decode(words, descBytes ? { descBytes } : {});
  out(opts.json ? toJson(decodeJson(d, descBytes)) : decodeText(d));
  return 0;
}
