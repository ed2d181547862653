import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { PayoutApi } from '../../infra/constructs/api';
import { CONSOLE_GROUPS, PayoutConsole } from '../../infra/constructs/console';

/**
 * The web console's hosting and sign-in (issue 12): who gets which API permissions is decided here, by
 * the mapping Cognito group → IAM role → exactly one of the API's managed policies. Built as
 * infra/stack.ts wires it (the real PayoutApi and its access policies), on inline stand-in functions so
 * nothing is bundled: the whole stack, console included, is also synthesized and nag-checked by
 * stack.test.ts.
 */
interface Synth {
  readonly stack: Stack & { webConsole: PayoutConsole; api: PayoutApi };
  readonly json: Record<string, unknown>;
}
let s: Synth;

beforeAll(() => {
  const app = new App();
  const stack = new Stack(app, 'ConsoleTest', { env: { account: '111122223333', region: 'ap-southeast-1' } });
  const api = new PayoutApi(stack, 'Api', {
    notifyAllowCidrs: [],
    rateLimit: 50,
    burstLimit: 100,
    logRetention: RetentionDays.ONE_MONTH,
    production: true,
  });
  const fn = (id: string) =>
    new LambdaFunction(stack, id, {
      runtime: Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: Code.fromInline('exports.handler = async () => ({ statusCode: 200, body: "" });'),
    });
  api.addMerchantRoutes({ apply: fn('Apply'), query: fn('Query'), review: fn('Review') });
  const access = api.addAccessPolicies();
  const webConsole = new PayoutConsole(stack, 'Console', {
    api: api.api,
    policies: access,
    production: true,
  });
  Aspects.of(app).add(new AwsSolutionsChecks());
  const json = Template.fromStack(stack).toJSON() as Record<string, unknown>;
  s = { stack: Object.assign(stack, { webConsole, api }), json };
});

function nagErrors(): string[] {
  return Annotations.fromStack(s.stack)
    .findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))
    .map((m) => `${m.id}: ${String(m.entry.data)}`);
}

type Resource = { Type: string; Properties: Record<string, unknown> };

function resources(): Record<string, Resource> {
  return s.json.Resources as Record<string, Resource>;
}

function ofType(type: string): [string, Resource][] {
  return Object.entries(resources()).filter(([, r]) => r.Type === type);
}

function idOf(construct: { node: { defaultChild?: unknown } } | object): string {
  const child = 'node' in construct ? (construct.node.defaultChild ?? construct) : construct;
  return s.stack.getLogicalId(child as never);
}

describe('console sign-in', () => {
  it('maps each Cognito group to a role holding exactly one API policy: read, submit or approve', () => {
    const { webConsole } = s.stack;
    const policy = (suffix: string) =>
      s.stack.getLogicalId(s.stack.node.findAll().find((c) => c.node.path.endsWith(suffix)) as never);
    const expected = {
      viewers: idOf(webConsole.readers as never),
      operators: policy('/Api/Submitters/Resource'),
      approvers: policy('/Api/Approvers/Resource'),
    };
    const groups = ofType('AWS::Cognito::UserPoolGroup').map(([, g]) => g.Properties);
    expect(groups.map((g) => g.GroupName).sort()).toEqual([...CONSOLE_GROUPS].sort());
    for (const group of groups) {
      const roleId = ((group.RoleArn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'] ?? [])[0]!;
      const role = resources()[roleId]!;
      expect(role.Type).toBe('AWS::IAM::Role');
      expect(role.Properties.ManagedPolicyArns).toEqual([
        { Ref: expected[group.GroupName as keyof typeof expected] },
      ]);
      expect(role.Properties.Policies).toBeUndefined();
      // Only the console's identity pool, for signed-in users, can assume it.
      const trust = (role.Properties.AssumeRolePolicyDocument as { Statement: Record<string, unknown>[] })
        .Statement;
      expect(trust).toEqual([
        {
          Action: 'sts:AssumeRoleWithWebIdentity',
          Effect: 'Allow',
          Principal: { Federated: 'cognito-identity.amazonaws.com' },
          Condition: {
            StringEquals: {
              'cognito-identity.amazonaws.com:aud': { Ref: idOf(s.stack.webConsole.identityPool) },
            },
            'ForAnyValue:StringLike': { 'cognito-identity.amazonaws.com:amr': 'authenticated' },
          },
        },
      ]);
    }
    // No role has inline policies added elsewhere either.
    const consoleRoles = Object.values(s.stack.webConsole.roles).map((r) => idOf(r));
    for (const [, policy] of ofType('AWS::IAM::Policy')) {
      const roles = (policy.Properties.Roles as { Ref: string }[] | undefined) ?? [];
      expect(roles.some((r) => consoleRoles.includes(r.Ref))).toBe(false);
    }
  });

  it('the viewers policy only reads: GET on the API, nothing else', () => {
    const readers = resources()[idOf(s.stack.webConsole.readers as never)]!;
    const statements = (
      readers.Properties.PolicyDocument as { Statement: { Action: string; Resource: unknown[] }[] }
    ).Statement;
    expect(statements).toHaveLength(1);
    expect(statements[0]!.Action).toBe('execute-api:Invoke');
    for (const resource of statements[0]!.Resource) expect(JSON.stringify(resource)).toMatch(/\/v1\/GET\//);
  });

  it('roles come from the token only: no unauthenticated identities, no default role, ambiguity denied', () => {
    const [[, pool]] = ofType('AWS::Cognito::IdentityPool') as [[string, Resource]];
    expect(pool.Properties.AllowUnauthenticatedIdentities).toBe(false);
    const [[, attachment]] = ofType('AWS::Cognito::IdentityPoolRoleAttachment') as [[string, Resource]];
    expect(attachment.Properties.Roles).toBeUndefined();
    expect(Object.values(attachment.Properties.RoleMappings as Record<string, unknown>)).toEqual([
      expect.objectContaining({ Type: 'Token', AmbiguousRoleResolution: 'Deny' }),
    ]);
    const [[, users]] = ofType('AWS::Cognito::UserPool') as [[string, Resource]];
    expect(users.Properties.MfaConfiguration).toBe('ON');
    expect(users.Properties.AdminCreateUserConfig).toEqual({ AllowAdminCreateUserOnly: true });
  });
});

describe('console hosting', () => {
  it('serves from a private bucket through CloudFront with origin access control, HTTPS only', () => {
    const bucket = resources()[idOf(s.stack.webConsole.bucket)]!;
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(ofType('AWS::CloudFront::OriginAccessControl')).toHaveLength(1);
    const [[, dist]] = ofType('AWS::CloudFront::Distribution') as [[string, Resource]];
    const config = dist.Properties.DistributionConfig as {
      DefaultCacheBehavior: { ViewerProtocolPolicy: string };
      CacheBehaviors: { ViewerProtocolPolicy: string; PathPattern: string }[];
    };
    const behaviors = [config.DefaultCacheBehavior, ...config.CacheBehaviors];
    for (const b of behaviors) expect(b.ViewerProtocolPolicy).toBe('https-only');
    expect(config.CacheBehaviors.map((b) => b.PathPattern)).toContain('/payouts/*');
  });

  it('adds security headers with a strict CSP: no inline scripts or styles, nothing from elsewhere', () => {
    const [[, policy]] = ofType('AWS::CloudFront::ResponseHeadersPolicy') as [[string, Resource]];
    const sec = (
      policy.Properties.ResponseHeadersPolicyConfig as { SecurityHeadersConfig: Record<string, unknown> }
    ).SecurityHeadersConfig;
    const cspText = JSON.stringify(
      (sec.ContentSecurityPolicy as { ContentSecurityPolicy: unknown }).ContentSecurityPolicy,
    );
    expect(cspText).toContain("script-src 'self';");
    expect(cspText).toContain("style-src 'self';");
    expect(cspText).toContain("frame-ancestors 'none'");
    expect(cspText).not.toContain('unsafe-inline');
    expect(cspText).not.toContain('unsafe-eval');
    expect(sec.StrictTransportSecurity).toMatchObject({ Override: true });
    expect(sec.FrameOptions).toMatchObject({ FrameOption: 'DENY' });
    expect(sec.ContentTypeOptions).toMatchObject({ Override: true });
  });

  it('is cdk-nag clean (remaining findings justified in the construct)', () => {
    expect(nagErrors().filter((e) => e.includes('/Console/'))).toEqual([]);
  });
});
