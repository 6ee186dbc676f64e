// Policy variants: the `NAME[:key=value,...]` spelling of a policy with options (DESIGN.md
// "Policies"), parsed once and read with typed helpers. Below policy.ts so that modules a policy
// context needs (the vIOMMU arrangement) read variants without importing the policy contract.

/** A policy's variant: key → value, as written. */
export type Variant = Readonly<Record<string, string>>;

/** `NAME[:key=value,...]` → name and variant; values kept as strings. */
export function parsePolicySpec(spec: string): { base: string; variant: Variant } {
  const i = spec.indexOf(':');
  const base = (i < 0 ? spec : spec.slice(0, i)).trim();
  const variant: Record<string, string> = {};
  if (i >= 0) {
    for (const kv of spec.slice(i + 1).split(',')) {
      if (kv.trim() === '') continue;
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new Error(`policy variant "${kv}" is not key=value`);
      variant[kv.slice(0, eq).trim()] = kv.slice(eq + 1).trim();
    }
  }
  return { base, variant };
}

/**
 * Reads a variant key that takes one of `choices` (first = default). The answer is the literal of
 * `choices`, not the text parsed from the spec: a policy compares it per command, and a literal
 * is an interned string there (a `===` by identity), a parsed one is not (a StringEqual call).
 */
export function variantChoice<T extends string>(v: Variant, key: string, choices: readonly T[], policy: string): T {
  const raw = v[key];
  if (raw === undefined) return choices[0]!;
  const k = (choices as readonly string[]).indexOf(raw);
  if (k < 0) throw new Error(`${policy}: ${key} must be one of ${choices.join(', ')}, not "${raw}"`);
  return choices[k]!;
}

export function variantBool(v: Variant, key: string, policy: string): boolean {
  return variantChoice(v, key, ['false', 'true'] as const, policy) === 'true';
}

/** Refuses variant keys a policy does not know. */
export function checkVariant(v: Variant, known: readonly string[], policy: string): void {
  for (const k of Object.keys(v)) {
    if (!known.includes(k)) throw new Error(`${policy}: unknown variant key "${k}"${known.length ? ` (known: ${known.join(', ')})` : ''}`);
  }
}
