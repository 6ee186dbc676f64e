// QEMU trace-event formats as typed parsers. A template reads like the format string of the event in
// hw/i386/trace-events or hw/arm/trace-events (spec/vtd.md §6.4, spec/smmuv3.md §6.3), with every
// conversion named and typed:
//
//   'iotlb invalidate domain 0x{did:x} addr 0x{addr:X} mask 0x{mask:x}'
//
// Kinds: u unsigned decimal, i signed decimal, x hex (number, at most 2^53), X hex (bigint, at most
// 64 bits), b 0 or 1 (boolean), s one word, r the rest (free text). Spacing is loose: a space in the
// template matches any run of blanks (or none) and blanks may surround `=`, `:` and `,`, so one
// template accepts the small spelling drifts between QEMU versions ("vmid =%d" vs "vmid=%d",
// "streamid= 0x%x"). The field types of the parsed value are derived from the template itself.

import { U64_MAX } from '../bits.js';
import { unreachable } from '../result.js';
import { parseQemuLogLine, type QemuLogLine } from './qemu-log.js';

interface KindTypes {
  u: number;
  i: number;
  x: number;
  X: bigint;
  b: boolean;
  s: string;
  r: string;
}
type Kind = keyof KindTypes;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The fields a template names, typed by their kinds. */
export type TemplateFields<T extends string> = T extends `${string}{${infer N}:${infer K}}${infer R}`
  ? { readonly [P in N]: KindTypes[K & Kind] } & TemplateFields<R>
  : // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- the end of the recursion, no more fields (X & {} is X)
    {};

type KeysOfUnion<U> = U extends unknown ? keyof U : never;
/** Several templates of one event: the fields all of them have are required, the others optional. */
export type MergedFields<U> = Simplify<
  { readonly [K in keyof U]: U[K] } & {
    readonly [K in Exclude<KeysOfUnion<U>, keyof U>]?: U extends { readonly [P in K]: infer V } ? V : never;
  }
>;

const KIND_RE: Readonly<Record<Kind, string>> = {
  u: '\\d+',
  i: '-?\\d+',
  x: '[0-9a-fA-F]+',
  X: '[0-9a-fA-F]+',
  b: '[01]',
  s: '\\S+',
  r: '.*?',
};

interface Slot {
  readonly name: string;
  readonly kind: Kind;
}

interface Compiled {
  readonly re: RegExp;
  readonly slots: readonly Slot[];
  readonly shown: string;
}

const PLACEHOLDER = /\{(\w+):([uixXbsr])\}/;

function compile(template: string): Compiled {
  const slots: Slot[] = [];
  let re = '^\\s*';
  let shown = '';
  for (const part of template.split(/(\{\w+:[uixXbsr]\})/)) {
    const m = PLACEHOLDER.exec(part);
    if (m !== null && m[0] === part) {
      slots.push({ name: m[1]!, kind: m[2] as Kind });
      re += `(${KIND_RE[m[2] as Kind]})`;
      shown += `<${m[1]}>`;
      continue;
    }
    shown += part;
    re += part
      .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      .replace(/\s+/g, '\\s*')
      .replace(/([=:,])/g, '\\s*$1\\s*');
  }
  return { re: new RegExp(`${re}\\s*$`), slots, shown: shown.trim() };
}

function convert(text: string, slot: Slot): unknown {
  switch (slot.kind) {
    case 'u':
    case 'i': {
      const v = Number(text);
      if (!Number.isSafeInteger(v)) throw new RangeError(`${slot.name}=${text} is too large`);
      return v;
    }
    case 'x': {
      if (text.length > 14) {
        const big = BigInt(`0x${text}`);
        if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${slot.name}=0x${text} is too large`);
      }
      return parseInt(text, 16);
    }
    case 'X': {
      const v = BigInt(`0x${text}`);
      if (v > U64_MAX) throw new RangeError(`${slot.name}=0x${text} does not fit in 64 bits`);
      return v;
    }
    case 'b':
      return text === '1';
    case 'r':
    case 's':
      return text;
    default:
      return unreachable(slot.kind);
  }
}

/**
 * Parses the argument text of one event; a string result is what is wrong with it. `templates` are
 * the templates it was made from (qemu-bytes.ts compiles them into byte matchers).
 */
export type ArgsParser<T> = ((args: string) => T | string) & { readonly templates?: readonly string[] };

/**
 * A parser for an event printed by one of several templates (newest first). Every template of an
 * event yields the same field names; fields only some templates print are optional.
 */
export function formats<const Ts extends readonly string[]>(...templates: Ts): ArgsParser<MergedFields<TemplateFields<Ts[number]>>> {
  const compiled = templates.map(compile);
  const expected = compiled.map((c) => `"${c.shown}"`).join(' or ');
  const parse = (args: string) => {
    for (const c of compiled) {
      const m = c.re.exec(args);
      if (m === null) continue;
      const out: Record<string, unknown> = {};
      try {
        c.slots.forEach((s, i) => {
          out[s.name] = convert(m[i + 1]!, s);
        });
      } catch (e) {
        return (e as Error).message;
      }
      return out as MergedFields<TemplateFields<Ts[number]>>;
    }
    return `expected ${expected}`;
  };
  return Object.assign(parse, { templates });
}

/** One event of a table: its canonical name is the table key; `aka` lists older spellings. */
export interface EventSpec<T> {
  readonly parse: ArgsParser<T>;
  readonly aka?: readonly string[];
}

export function event<T>(parse: ArgsParser<T>, aka?: readonly string[]): EventSpec<T> {
  return aka ? { parse, aka } : { parse };
}

/** The parsed events of a table, as a discriminated union on `event`. */
export type EventUnion<Tbl extends Record<string, EventSpec<unknown>>> = {
  [K in keyof Tbl & string]: Simplify<
    { readonly event: K; /** the name as printed, when an older spelling */ readonly spelling?: string } & (Tbl[K] extends EventSpec<
      infer T
    >
      ? T
      : never)
  >;
}[keyof Tbl & string];

/** A known event whose arguments do not parse. */
export interface EventError {
  readonly event: string;
  readonly error: string;
}

/**
 * Builds the lookup of a table: name (canonical or older spelling) to parser. Returns undefined for
 * names the table does not know.
 */
export function eventParser<Tbl extends Record<string, EventSpec<unknown>>>(
  table: Tbl,
): (event: string, args: string) => EventUnion<Tbl> | EventError | undefined {
  const byName = new Map<string, { key: string; spec: EventSpec<unknown>; alias: boolean }>();
  for (const [key, spec] of Object.entries(table)) {
    byName.set(key, { key, spec, alias: false });
    for (const a of spec.aka ?? []) byName.set(a, { key, spec, alias: true });
  }
  return (name, args) => {
    const hit = byName.get(name);
    if (hit === undefined) return undefined;
    const r = hit.spec.parse(args);
    if (typeof r === 'string') return { event: name, error: r };
    // `r` is a fresh object: name it in place (no copy per line).
    const o = r as Record<string, unknown>;
    o.event = hit.key;
    if (hit.alias) o.spelling = name;
    return o as EventUnion<Tbl>;
  };
}

/**
 * The parser of a table for log lines (or already split lines): undefined when the line is not an
 * event the table knows; `{ event, error }` when a known event's arguments do not parse.
 */
export function lineParser<Tbl extends Record<string, EventSpec<unknown>>>(
  table: Tbl,
): (line: string | Pick<QemuLogLine, 'event' | 'args'>) => EventUnion<Tbl> | EventError | undefined {
  const lookup = eventParser(table);
  return (line) => {
    const l = typeof line === 'string' ? parseQemuLogLine(line) : line;
    return l === undefined ? undefined : lookup(l.event, l.args);
  };
}

export function isEventError(e: object): e is EventError {
  return 'error' in e && typeof (e as EventError).error === 'string';
}
