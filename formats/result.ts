// Errors as values with positions. Bad input is data: every reader and codec returns or throws
// an InputError that names the file, line, queue slot or field, and the CLI prints it in one line.

/** Where a piece of bad input sits and what is wrong with it. */
export interface InputError {
  readonly file?: string;
  readonly line?: number;
  readonly slot?: number;
  readonly field?: string;
  readonly message: string;
}

export type Result<T, E = InputError> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const fail = <E = InputError>(error: E): Result<never, E> => ({ ok: false, error });

/** `file:line: slot N: FIELD: message`, leaving out what is unknown. */
export function formatInputError(e: InputError): string {
  const where: string[] = [];
  if (e.file !== undefined) where.push(e.line !== undefined ? `${e.file}:${e.line}` : e.file);
  else if (e.line !== undefined) where.push(`line ${e.line}`);
  if (e.slot !== undefined) where.push(`slot ${e.slot}`);
  if (e.field !== undefined) where.push(e.field);
  return where.length > 0 ? `${where.join(': ')}: ${e.message}` : e.message;
}

/**
 * Bad input crossing layers that stream (readers, writers). Only this error reaches the user as
 * a one-line message with exit code 2; any other exception is a bug.
 */
export class InputFault extends Error {
  constructor(readonly detail: InputError) {
    super(formatInputError(detail));
    this.name = 'InputFault';
  }
}

/** Unwraps a Result or throws its error as an InputFault (with extra position info). */
export function unwrap<T>(r: Result<T>, at: Partial<InputError> = {}): T {
  if (r.ok) return r.value;
  throw new InputFault({ ...at, ...r.error });
}

/** Exhaustive-switch guard: a new enum member fails the build until every dispatch handles it. */
export function unreachable(x: never): never {
  throw new Error(`unreachable: ${String(x)}`);
}
