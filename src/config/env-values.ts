import * as z from 'zod/mini';
import '../lib/zod-messages';
import { type ConfigProblem, configError, problemOf } from './problems';

/**
 * The shapes of environment values and how a refused environment is reported, shared by the payout
 * functions' loader (env.ts) and the export function's (export.ts): one rule per kind of value.
 */

/** A whole number given as text (an environment variable). */
const wholeNumber = () =>
  z.pipe(z.string().check(z.regex(/^[0-9]+$/, 'must be a whole number')), z.transform(Number));

export const positiveInt = (fallback: number) =>
  z.pipe(
    z.optional(wholeNumber().check(z.refine((n) => n > 0, 'must be greater than zero'))),
    z.transform((n) => n ?? fallback),
  );

export const nonNegativeInt = (fallback: number) =>
  z.pipe(
    z.optional(wholeNumber()),
    z.transform((n) => n ?? fallback),
  );

/** A positive whole number, or undefined when not set (the user of the setting has its own default). */
export const optionalPositiveInt = () =>
  z.pipe(
    positiveInt(0),
    z.transform((n) => (n === 0 ? undefined : n)),
  );

export const url = z.string().check(z.url('must be a URL'));

export const nonEmpty = z.string().check(z.minLength(1));

/** Empty strings are "not set": a blank line in an .env file must not count as a value. */
export function setValues(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
  );
}

/** Every problem named, never a value (it may be a key). */
export function invalid(problems: readonly ConfigProblem[]) {
  return configError('invalid configuration: ', problems, '; ');
}

/** A zod issue of an environment schema as "VARIABLE is required" or "VARIABLE <zod's reason>". */
export function envProblem(
  issue: Parameters<typeof problemOf>[0],
  values: Readonly<Record<string, unknown>>,
  root: string,
): ConfigProblem {
  return problemOf(issue, values, { root, missing: () => 'is required' });
}
