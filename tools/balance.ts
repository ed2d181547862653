import { parseArgs } from 'node:util';
import { type ApiAnswer, type ApiTarget, callApi } from './approvals';
import { ToolError } from './errors';

/**
 * `npm run ops -- balance [--api <url>] [--principal <name>]`: GET /balance through the payout API (the
 * same path, IAM and signing as `approvals`: SigV4 in AWS, x-principal locally), printed for a person.
 */

export interface BalanceArgs {
  readonly api?: string;
  readonly principal?: string;
}

export function parseBalanceArgs(args: string[]): BalanceArgs {
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { api: { type: 'string' }, principal: { type: 'string' } },
    });
    if (positionals.length > 0) throw new ToolError(`unexpected arguments: ${positionals.join(' ')}`);
    return {
      ...(values.api === undefined ? {} : { api: values.api }),
      ...(values.principal === undefined ? {} : { principal: values.principal }),
    };
  } catch (error) {
    if (error instanceof ToolError) throw error;
    throw new ToolError(error instanceof Error ? error.message : 'invalid options');
  }
}

export async function fetchBalance(target: ApiTarget): Promise<ApiAnswer> {
  return callApi(target, { method: 'GET', path: '/balance' });
}

/** One figure a line; the provider's and ours side by side. Errors as the API said them. */
export function formatBalance(answer: ApiAnswer): string[] {
  const body = (answer.body ?? {}) as Record<string, unknown>;
  if (answer.status !== 200) {
    const error = (body.error ?? {}) as { code?: unknown; message?: unknown };
    return [
      `balance: ${answer.status} ${String(error.code ?? 'error')}: ${String(error.message ?? '')}`.trim(),
    ];
  }
  const row = (label: string, key: string) => `  ${label.padEnd(28)} ${String(body[key] ?? '-')}`;
  return [
    `balance at the provider (queried ${String(body.queried_at ?? '-')})`,
    row('available (amt_balance)', 'amt_balance'),
    row('unsettled (amt_unsettle)', 'amt_unsettle'),
    'our figures',
    row('in flight (sent, not final)', 'in_flight_amount'),
    row('waiting (queued, approval, funds)', 'waiting_amount'),
  ];
}
