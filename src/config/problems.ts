/**
 * How configuration problems are reported, shared by the functions' environment loader (src/config/env.ts)
 * and the deployment configuration (infra/config/load.ts). Each side keeps its own schema and its own
 * names (environment variables there, CDK context keys here); what is the same is the error class, the
 * way a zod issue becomes "NAME reason", and that a value is never quoted (it may be a key).
 */

/** One bad setting: the name the operator sets (variable or context key) and why it is refused. */
export interface ConfigProblem {
  readonly name: string;
  readonly message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly problems: readonly ConfigProblem[] = [],
  ) {
    super(message);
  }
}

/** The subset of a zod issue this needs (zod's own type changes between majors). */
interface Issue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/**
 * A zod issue as a problem. `missing` says what to write when the setting was not given at all (each side
 * tells the operator where to set it); zod's own messages are used otherwise — they never quote the input.
 */
export function problemOf(
  issue: Issue,
  input: Readonly<Record<string, unknown>>,
  options: { readonly root: string; readonly missing: (name: string) => string; readonly join?: string },
): ConfigProblem {
  const name = issue.path.length > 0 ? issue.path.map(String).join(options.join ?? '.') : options.root;
  const top = issue.path.length > 0 ? String(issue.path[0]) : undefined;
  const absent = top !== undefined && input[top] === undefined;
  const message = issue.code === 'invalid_type' && absent ? options.missing(name) : issue.message;
  return { name, message };
}

/**
 * The one message format: every problem named ("NAME reason"), in the order found, after the header.
 * `separator` goes between problems (and before the first too when `lead` is true).
 */
export function configError(
  header: string,
  problems: readonly ConfigProblem[],
  separator: string,
  lead = false,
): ConfigError {
  const listed = problems.map((p) => `${p.name} ${p.message}`).join(separator);
  return new ConfigError(`${header}${lead ? separator : ''}${listed}`, problems);
}
