import { CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  AllowedMethods,
  CachePolicy,
  Function as CfFunction,
  Distribution,
  FunctionCode,
  FunctionEventType,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  OriginRequestPolicy,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { RestApiOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import {
  AccountRecovery,
  CfnIdentityPool,
  CfnIdentityPoolRoleAttachment,
  CfnUserPoolGroup,
  Mfa,
  OAuthScope,
  UserPool,
  type UserPoolClient,
} from 'aws-cdk-lib/aws-cognito';
import {
  FederatedPrincipal,
  type IManagedPolicy,
  ManagedPolicy,
  PolicyStatement,
  Role,
} from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { API_STAGE } from './api';

/** The console's groups, each mapped to exactly one of the API's access policies. */
export const CONSOLE_GROUPS = ['viewers', 'operators', 'approvers'] as const;
export type ConsoleGroup = (typeof CONSOLE_GROUPS)[number];

/** The API routes the console reaches through CloudFront (same origin: no CORS, CSP connect-src 'self'). */
export const CONSOLE_API_PATHS = [
  '/payouts',
  '/payouts/*',
  '/batches/*',
  '/exceptions',
  '/balance',
  '/close/*',
];

/** Read-only routes, for viewers (GET only; the same shapes the read part of the other policies allows). */
const READ_ROUTES: readonly string[] = CONSOLE_API_PATHS;

export interface PayoutConsoleProps {
  readonly api: RestApi;
  /** The API's managed policies: who may create (operators) and who may approve (approvers). */
  readonly policies: {
    readonly submitters: IManagedPolicy;
    readonly approvers: IManagedPolicy;
    /** Read-only access; created here from READ_ROUTES when the API does not provide one. */
    readonly readers?: IManagedPolicy;
  };
  readonly production: boolean;
  /** The Cognito hosted UI's domain prefix (globally unique per region); default from the stack name. */
  readonly domainPrefix?: string;
  /** Approvals at or above this amount (yuan) ask for the amount typed again. */
  readonly confirmAmount?: string;
}

/** The same CSP the local front serves (local/console.ts), plus Cognito's endpoints for the sign-in. */
function csp(region: string, cognitoDomain: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' https://cognito-identity.${region}.amazonaws.com https://${cognitoDomain}`,
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    `form-action 'self' https://${cognitoDomain}`,
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * The web console on AWS: the built SPA in a private S3 bucket behind CloudFront (HTTPS only, origin
 * access control, security headers with a strict CSP), the API behind the same distribution, and
 * people signing in with a Cognito user pool whose groups map, through an identity pool, to IAM roles
 * holding exactly the API's read / submit / approve policies. The console signs its calls with SigV4
 * like any IAM caller, so the API keeps one authorization model; the service names each person by
 * their Cognito identity id (functions/shared/principal.ts). docs/console.md argues the choice.
 *
 * The files are uploaded by `aws s3 sync console/dist s3://<ConsoleBucket>/console/` with the
 * ConsoleConfig output as console/config.json (docs/console.md): no deployment Lambda in the stack.
 */
export class PayoutConsole extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  readonly userPool: UserPool;
  readonly client: UserPoolClient;
  readonly identityPool: CfnIdentityPool;
  readonly roles: Record<ConsoleGroup, Role>;
  readonly readers: IManagedPolicy;

  constructor(scope: Construct, id: string, props: PayoutConsoleProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const removalPolicy = props.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.bucket = new Bucket(this, 'Files', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      removalPolicy,
    });

    // --- sign-in ------------------------------------------------------------------------------------
    this.userPool = new UserPool(this, 'Users', {
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      mfa: Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: {
        minLength: 12,
        requireDigits: true,
        requireLowercase: true,
        requireUppercase: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      removalPolicy,
    });
    // Cognito domain prefixes are unique per region across all accounts: named after the stack, with a
    // hash of this construct's path; props.domainPrefix sets another.
    const domainPrefix =
      props.domainPrefix ??
      `payout-${stack.stackName.toLowerCase().replace(/[^a-z0-9-]/g, '-')}-${this.node.addr.slice(0, 8)}`.slice(
        0,
        63,
      );
    const domain = this.userPool.addDomain('Domain', { cognitoDomain: { domainPrefix } });
    const cognitoDomain = `${domain.domainName}.auth.${stack.region}.amazoncognito.com`;

    // --- hosting ------------------------------------------------------------------------------------
    const headers = new ResponseHeadersPolicy(this, 'Headers', {
      comment: 'lianlian-payout console: strict CSP and security headers',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: csp(stack.region, cognitoDomain), override: true },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
        xssProtection: { protection: true, modeBlock: true, override: true },
      },
    });
    // /console/ is a "directory": serve its index.html (the SPA routes by hash, nothing else to rewrite).
    const index = new CfFunction(this, 'Index', {
      code: FunctionCode.fromInline(
        "function handler(event) { var r = event.request; if (r.uri === '/console' || r.uri === '/console/') { r.uri = '/console/index.html'; } return r; }",
      ),
    });
    const apiOrigin = new RestApiOrigin(props.api);
    const apiBehavior = {
      origin: apiOrigin,
      viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: AllowedMethods.ALLOW_ALL,
      cachePolicy: CachePolicy.CACHING_DISABLED,
      // Everything the SigV4 signature covers travels unchanged; Host becomes the API's, which is the
      // host the console signed for (config apiSignHost).
      originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      responseHeadersPolicy: headers,
    };
    this.distribution = new Distribution(this, 'Cdn', {
      comment: 'lianlian-payout console',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        responseHeadersPolicy: headers,
        functionAssociations: [{ function: index, eventType: FunctionEventType.VIEWER_REQUEST }],
      },
      additionalBehaviors: Object.fromEntries(CONSOLE_API_PATHS.map((path) => [path, apiBehavior])),
    });
    const consoleUrl = `https://${this.distribution.distributionDomainName}/console/`;

    this.client = this.userPool.addClient('Console', {
      generateSecret: false,
      authFlows: {},
      preventUserExistenceErrors: true,
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
        callbackUrls: [consoleUrl],
        logoutUrls: [consoleUrl],
      },
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(8),
    });

    this.identityPool = new CfnIdentityPool(this, 'Identities', {
      allowUnauthenticatedIdentities: false,
      cognitoIdentityProviders: [
        {
          clientId: this.client.userPoolClientId,
          providerName: this.userPool.userPoolProviderName,
          serverSideTokenCheck: true,
        },
      ],
    });

    // --- one role per group, exactly one API policy each ------------------------------------------
    this.readers =
      props.policies.readers ??
      new ManagedPolicy(this, 'Readers', {
        description: 'lianlian-payout: read payouts, batches, exceptions and the balance',
        statements: [
          new PolicyStatement({
            actions: ['execute-api:Invoke'],
            resources: READ_ROUTES.map((path) => props.api.arnForExecuteApi('GET', path, API_STAGE)),
          }),
        ],
      });
    const policyOf: Record<ConsoleGroup, IManagedPolicy> = {
      viewers: this.readers,
      operators: props.policies.submitters,
      approvers: props.policies.approvers,
    };
    const assumedBy = new FederatedPrincipal(
      'cognito-identity.amazonaws.com',
      {
        StringEquals: { 'cognito-identity.amazonaws.com:aud': this.identityPool.ref },
        'ForAnyValue:StringLike': { 'cognito-identity.amazonaws.com:amr': 'authenticated' },
      },
      'sts:AssumeRoleWithWebIdentity',
    );
    this.roles = {} as Record<ConsoleGroup, Role>;
    CONSOLE_GROUPS.forEach((group, precedence) => {
      const role = new Role(this, `${group}Role`, {
        description: `lianlian-payout console: the ${group} group`,
        assumedBy,
        managedPolicies: [policyOf[group]],
        maxSessionDuration: Duration.hours(1),
      });
      this.roles[group] = role;
      new CfnUserPoolGroup(this, `${group}Group`, {
        userPoolId: this.userPool.userPoolId,
        groupName: group,
        description: `lianlian-payout console ${group}`,
        roleArn: role.roleArn,
        // The lowest value wins as cognito:preferred_role, the role a person in several groups gets:
        // approvers (10), then operators (20), then viewers (30). Whichever role they use, they stay one
        // principal (their identity id), so holding two groups never lets them approve their own payouts.
        precedence: (CONSOLE_GROUPS.length - precedence) * 10,
      });
    });
    // Roles come from the token's groups only; no group (or an ambiguous mapping) gets no credentials.
    new CfnIdentityPoolRoleAttachment(this, 'RoleMapping', {
      identityPoolId: this.identityPool.ref,
      roleMappings: {
        console: {
          type: 'Token',
          ambiguousRoleResolution: 'Deny',
          identityProvider: `${this.userPool.userPoolProviderName}:${this.client.userPoolClientId}`,
        },
      },
    });

    // --- what the SPA reads as config.json --------------------------------------------------------
    const apiHost = `${props.api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
    new CfnOutput(this, 'ConsoleUrl', { value: consoleUrl, description: 'The web console' });
    new CfnOutput(this, 'ConsoleBucket', {
      value: this.bucket.bucketName,
      description: 'Upload console/dist here under console/ (docs/console.md)',
    });
    new CfnOutput(this, 'ConsoleConfig', {
      description: 'Write as console/config.json in the console bucket',
      value: stack.toJsonString({
        mode: 'aws',
        apiBase: '',
        apiSignHost: apiHost,
        apiSignPathPrefix: `/${API_STAGE}`,
        approvalConfirmMin: props.confirmAmount ?? '10000.00',
        region: stack.region,
        userPoolId: this.userPool.userPoolId,
        userPoolClientId: this.client.userPoolClientId,
        cognitoDomain,
        identityPoolId: this.identityPool.ref,
      }),
    });

    this.suppressions();
  }

  private suppressions(): void {
    NagSuppressions.addResourceSuppressions(this.bucket, [
      {
        id: 'AwsSolutions-S1',
        reason:
          'Static, public-by-design files (the SPA bundle) read only through CloudFront; every read is in the CloudFront standard logs when the account enables them, and the data the console shows never lives in this bucket.',
      },
    ]);
    NagSuppressions.addResourceSuppressions(
      this.distribution,
      [
        {
          id: 'AwsSolutions-CFR1',
          reason:
            'Operators may work from anywhere; access is decided by Cognito sign-in (MFA required) and IAM.',
        },
        {
          id: 'AwsSolutions-CFR2',
          reason:
            'No WAF by default, as for the API itself: every API call through this distribution is SigV4-signed and throttled by the stage; attach a web ACL outside the stack if the account mandates one.',
        },
        {
          id: 'AwsSolutions-CFR3',
          reason:
            'Access logs need a log bucket with ACLs enabled; the API calls behind it are already in the API access logs, and the static files are not sensitive.',
        },
        {
          id: 'AwsSolutions-CFR4',
          reason:
            'The default *.cloudfront.net certificate (TLS 1.2 minimum cannot be set without a custom domain); attach a custom domain and certificate with TLSv1.2_2021 in production.',
        },
      ],
      true,
    );
    if (this.readers instanceof ManagedPolicy && this.readers.node.scope === this) {
      NagSuppressions.addResourceSuppressions(this.readers, [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "The wildcard is a path parameter ({no_order}, {batch_id}, {date}) of this API's own routes (execute-api ARNs name one with *): GET on exactly these route shapes on this stage, nothing else.",
        },
      ]);
    }
    NagSuppressions.addResourceSuppressions(this.userPool, [
      {
        id: 'AwsSolutions-COG8',
        reason:
          'The Plus feature plan (threat protection) is a paid option left to the account; MFA is required and self sign-up is off, so only invited staff can sign in.',
      },
      {
        id: 'AwsSolutions-COG3',
        reason:
          'Advanced security (threat protection) is a paid feature plan; MFA is required and self sign-up is off, so only invited staff can sign in.',
      },
    ]);
  }
}
