import * as z from 'zod/mini';

/**
 * The kinds of value a setting takes, each a zod/mini schema from the text of an environment
 * variable (or of a flag) to its typed value. An empty variable counts as unset, as `VAR=`
 * in a unit file or a shell means. A refused value carries, in its issue's params, what the
 * value must be and how to fix it; parse.ts turns that into a ConnectrError naming the variable.
 */

/** What a refused value must be, and the fix, in words (for the message and the hint). */
export interface Refusal {
  /** "a whole number of at least 1" */
  readonly must: string;
  /** What to set instead: "a number such as 5000, or unset it for the default (5000)". */
  readonly fix: string;
}

/** A setting's schema: text of the environment (or undefined) in, its value out. */
export type Kind<T> = z.ZodMiniType<T, string | undefined>;

function refuse(ctx: { issues: unknown[] }, input: string, refusal: Refusal): typeof z.NEVER {
  // The value refused travels in params: zod keeps no custom issue's input in its error.
  (ctx.issues as z.core.$ZodRawIssue[]).push({
    code: 'custom',
    message: refusal.must,
    input,
    params: { ...refusal, found: input },
  });
  return z.NEVER;
}

const given = (text: string | undefined): string | undefined => {
  const trimmed = text?.trim();
  return trimmed === '' ? undefined : text;
};

/** Free text (a path, a URL, a command): unset when empty. */
export function text(): Kind<string | undefined> {
  return z.pipe(
    z.optional(z.string()),
    z.transform((value) => (value === undefined || value.trim() === '' ? undefined : value)),
  );
}

/** On when set to anything but the empty string (`CONNECTR_DEBUG=1`). */
export function flag(): Kind<boolean> {
  return z.pipe(
    z.optional(z.string()),
    z.transform((value) => given(value) !== undefined),
  );
}

export interface WholeNumberOptions {
  /** Used when the variable is unset or empty. */
  readonly fallback: number;
  /** Smallest accepted value (1 unless said). */
  readonly min?: number;
  /** Largest accepted value; none by default. */
  readonly max?: number;
}

/** A whole number (a size, a time in ms, a count), written in plain digits. */
export function wholeNumber(options: WholeNumberOptions): Kind<number> {
  const { fallback, min = 1, max } = options;
  const must =
    max !== undefined
      ? `a whole number from ${min} to ${max}`
      : min === 0
        ? 'a whole number (0 or more)'
        : `a whole number of at least ${min}`;
  const refusal = { must, fix: `a number such as ${fallback}, or unset it for the default (${fallback})` };
  return z.pipe(
    z.optional(z.string()),
    z.transform((value, ctx) => {
      const textValue = value?.trim();
      if (textValue === undefined || textValue === '') return fallback;
      const n = Number(textValue);
      if (!/^\d+$/.test(textValue) || !Number.isSafeInteger(n) || n < min || (max !== undefined && n > max))
        return refuse(ctx, textValue, refusal);
      return n;
    }),
  );
}

/** One of a few words, in any case; `fallback` when unset. */
export function choice<const T extends string>(values: readonly T[], fallback: T, fix?: string): Kind<T> {
  const words = `${values.slice(0, -1).join(', ')} or ${values.at(-1) ?? ''}`;
  const refusal = { must: `one of ${values.join(', ')}`, fix: fix ?? words };
  return z.pipe(
    z.optional(z.string()),
    z.transform((value, ctx) => {
      const word = value?.trim().toLowerCase();
      if (word === undefined || word === '') return fallback;
      const found = values.find((v) => v === word);
      return found ?? refuse(ctx, word, refusal);
    }),
  );
}

/** A list in one variable (`dir1:dir2`, `a,b`): its non-empty entries, trimmed when `trim`. */
export function list(separator: string, trim = false): Kind<readonly string[]> {
  return z.pipe(
    z.optional(z.string()),
    z.transform((value) =>
      (value ?? '')
        .split(separator)
        .map((entry) => (trim ? entry.trim() : entry))
        .filter(Boolean),
    ),
  );
}
