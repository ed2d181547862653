import { generateKeyPairSync } from 'node:crypto';
import { App, Aspects, type CfnElement } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ENVIRONMENTS } from '../../infra/config/environments';
import { parseConfig } from '../../infra/config/load';
import type { DeploymentEnv, PayoutConfig } from '../../infra/config/schema';
import { PayoutStack, REPOSITORY_ROOT } from '../../infra/stack';

export const OID_PARTNER = '201408071000001543';

/** A fresh provider public key: the config validates it at synth, so it must be a real one. */
export const PROVIDER_PUBLIC_KEY = generateKeyPairSync('rsa', { modulusLength: 1024 })
  .publicKey.export({ format: 'der', type: 'spki' })
  .toString('base64');

export function testConfig(env: DeploymentEnv, overrides: Record<string, unknown> = {}): PayoutConfig {
  return parseConfig({
    ...ENVIRONMENTS[env],
    env,
    oidPartner: OID_PARTNER,
    providerPublicKey: PROVIDER_PUBLIC_KEY,
    ...overrides,
  });
}

export interface Synthesized {
  readonly stack: PayoutStack;
  readonly template: Template;
  readonly json: Record<string, unknown>;
}

/**
 * Builds several stacks in ONE App: the functions are bundled (local esbuild) once per App and entry, and
 * reused by every stack, which keeps a file with many variants fast. cdk-nag runs on the whole App.
 */
export function synthesizeAll<K extends string>(configs: Record<K, PayoutConfig>): Record<K, Synthesized> {
  const app = new App();
  const stacks = Object.entries(configs).map(([name, config]) => [
    name,
    new PayoutStack(app, `Test-${name}`, { config: config as PayoutConfig, sourceRoot: REPOSITORY_ROOT }),
  ]) as [K, PayoutStack][];
  Aspects.of(app).add(new AwsSolutionsChecks());
  const out = {} as Record<K, Synthesized>;
  for (const [name, stack] of stacks) {
    const template = Template.fromStack(stack);
    out[name] = { stack, template, json: template.toJSON() as Record<string, unknown> };
  }
  return out;
}

export function nagErrors(stack: PayoutStack): string[] {
  return Annotations.fromStack(stack)
    .findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))
    .map((m) => `${m.id}: ${String(m.entry.data)}`);
}

export function nagWarnings(stack: PayoutStack): string[] {
  return Annotations.fromStack(stack)
    .findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'))
    .map((m) => `${m.id}: ${String(m.entry.data)}`);
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown>; [k: string]: unknown }>;

export function resources(json: unknown): Resources {
  return (json as { Resources: Resources }).Resources;
}

export function ofType(json: unknown, type: string): [string, Resources[string]][] {
  return Object.entries(resources(json)).filter(([, r]) => r.Type === type);
}

export interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource?: unknown;
  readonly Principal?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** The statements of a policy document found in the template; throws when there is none. */
export function statementsIn(document: unknown): Statement[] {
  const statements = (document as { Statement?: Statement[] } | undefined)?.Statement;
  if (!statements) throw new Error('no policy document');
  return statements;
}

export const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

/** Identity-policy statements (inline policies on roles, AWS::IAM::Policy, managed policies). */
export function identityStatements(
  json: unknown,
): { policy: string; roles: string[]; statement: Statement }[] {
  const out: { policy: string; roles: string[]; statement: Statement }[] = [];
  for (const [id, r] of Object.entries(resources(json))) {
    const p = r.Properties ?? {};
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') {
      const roles = ((p.Roles as { Ref: string }[] | undefined) ?? []).map((x) => x.Ref);
      for (const s of (p.PolicyDocument as { Statement: Statement[] }).Statement) {
        out.push({ policy: id, roles, statement: s });
      }
    }
    if (r.Type === 'AWS::IAM::Role') {
      for (const inline of (p.Policies as { PolicyDocument: { Statement: Statement[] } }[] | undefined) ??
        []) {
        for (const s of inline.PolicyDocument.Statement) out.push({ policy: id, roles: [id], statement: s });
      }
    }
  }
  return out;
}

/** Logical id of the role a function runs with. */
export function roleOfFunction(json: unknown, functionLogicalId: string): string {
  const fn = resources(json)[functionLogicalId];
  const role = (fn?.Properties?.Role as { 'Fn::GetAtt': [string, string] } | undefined)?.['Fn::GetAtt']?.[0];
  if (!role) throw new Error(`no role for ${functionLogicalId}`);
  return role;
}

export type FunctionKey =
  | 'apply'
  | 'query'
  | 'review'
  | 'notify'
  | 'reconcile'
  | 'publish'
  | 'batches'
  | 'balance'
  | 'dispatch';
export const FUNCTION_KEYS: readonly FunctionKey[] = [
  'apply',
  'query',
  'review',
  'notify',
  'reconcile',
  'publish',
  'balance',
  'dispatch',
];

/** Logical id of the AWS::Lambda::Function the stack built for `functions/<name>`. */
export function functionId(synth: Synthesized, name: FunctionKey): string {
  return synth.stack.getLogicalId(synth.stack.functions[name].function.node.defaultChild as CfnElement);
}

/**
 * Every Ref / Fn::GetAtt / DependsOn edge between resources, then a depth-first search for a cycle —
 * what CloudFormation would reject at deploy time but `cdk synth` does not check within one stack.
 */
export function findCycle(json: unknown): string[] | undefined {
  const res = resources(json);
  const edges = new Map<string, Set<string>>();
  const collect = (node: unknown, into: Set<string>): void => {
    if (Array.isArray(node)) for (const n of node) collect(n, into);
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === 'Ref' && typeof v === 'string' && v in res) into.add(v);
        else if (k === 'Fn::GetAtt' && Array.isArray(v) && typeof v[0] === 'string' && v[0] in res)
          into.add(v[0]);
        else if (k === 'Fn::Sub' && typeof v === 'string') {
          for (const m of v.matchAll(/\$\{([A-Za-z0-9]+)/g)) if (m[1] && m[1] in res) into.add(m[1]);
        } else collect(v, into);
      }
    }
  };
  for (const [id, r] of Object.entries(res)) {
    const deps = new Set<string>();
    collect(r.Properties ?? {}, deps);
    const dependsOn = r.DependsOn;
    for (const d of Array.isArray(dependsOn) ? dependsOn : dependsOn ? [dependsOn] : []) deps.add(String(d));
    edges.set(id, deps);
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of edges.get(id) ?? []) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of edges.keys()) {
    const cycle = visit(id);
    if (cycle) return cycle;
  }
  return undefined;
}
