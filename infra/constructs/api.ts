import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  JsonSchemaType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  type Model,
  type RequestValidator,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import { AnyPrincipal, Effect, ManagedPolicy, PolicyDocument, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';

/** A literal, so URLs can be built without referencing the Stage resource (see `notifyUrl`). */
export const API_STAGE = 'v1';
export const NOTIFY_PATH = '/lianlian/notify';
/** The second person's decisions, each a POST on /payouts/{no_order}/<action>. */
export const REVIEW_ACTIONS = ['approve', 'deny', 'void'] as const;
const NOTIFY_INVOKE_RESOURCE = `execute-api:/*/POST${NOTIFY_PATH}`;

export interface PayoutApiProps {
  /** Source CIDRs allowed on the notify route; empty leaves it open to any address. */
  readonly notifyAllowCidrs: readonly string[];
  readonly rateLimit: number;
  readonly burstLimit: number;
  readonly logRetention: RetentionDays;
  readonly production: boolean;
}

/**
 * The REST API: two merchant routes behind IAM (SigV4) authorization and the provider's notification
 * route, which cannot carry SigV4 and is authenticated by the message signature the notify function
 * verifies — plus, when configured, a source-IP allow-list in the API's resource policy.
 *
 * Created before the functions (they need the notify URL in their environment); the routes are added
 * once the functions exist, with `addMerchantRoutes` and `addNotifyRoute`.
 */
export class PayoutApi extends Construct {
  readonly api: RestApi;
  readonly accessLogs: LogGroup;
  private readonly validator: RequestValidator;
  private readonly objectBody: Model;

  constructor(scope: Construct, id: string, props: PayoutApiProps) {
    super(scope, id);
    const removalPolicy = props.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.logRetention, removalPolicy });

    this.api = new RestApi(this, 'Api', {
      description: 'lianlian-payout: bank-card payouts through LianLian Pay',
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      policy: notifyPolicy(props.notifyAllowCidrs),
      // Execution and access logging need the account-level API Gateway CloudWatch role; creating it here
      // makes a fresh account work. It is account-wide, so it is kept when the stack goes.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: API_STAGE,
        throttlingRateLimit: props.rateLimit,
        throttlingBurstLimit: props.burstLimit,
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields({
          caller: true,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: true,
        }),
        loggingLevel: MethodLoggingLevel.ERROR,
        // Never: full request logging would write card numbers and payee names to CloudWatch.
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
      },
    });
    // Replaced by the stack's ApiUrl output, which documents what the URL is for.
    this.api.node.tryRemoveChild('Endpoint');
    // The resource policy is not part of what CDK hashes into the deployment; without this a changed
    // allow-list would be saved but not deployed to the stage.
    this.api.latestDeployment?.addToLogicalId({ notifyAllowCidrs: [...props.notifyAllowCidrs] });

    this.validator = this.api.addRequestValidator('Validator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    // Field-level validation stays in the apply function (one schema, one set of error messages); the
    // gateway only turns away bodies that are not JSON objects at all, before they cost an invocation.
    this.objectBody = this.api.addModel('PayoutRequestBody', {
      contentType: 'application/json',
      schema: { type: JsonSchemaType.OBJECT },
    });

    NagSuppressions.addResourceSuppressions(this.api.deploymentStage, [
      {
        id: 'AwsSolutions-APIG3',
        reason:
          'No WAF web ACL by default: merchant routes require SigV4 (IAM), the notify route verifies the provider signature and can be IP allow-listed in the resource policy, and the stage is throttled. Attach a web ACL outside the stack if the account mandates one.',
      },
    ]);
    NagSuppressions.addResourceSuppressions(
      this.api,
      [
        {
          id: 'AwsSolutions-IAM4',
          reason:
            'The account-level API Gateway logging role uses the AWS managed AmazonAPIGatewayPushToCloudWatchLogs policy, the documented policy for that service role.',
          appliesTo: [
            'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs',
          ],
        },
      ],
      true,
    );
  }

  /** The stage's base URL, e.g. https://abc.execute-api.cn-north-1.amazonaws.com.cn/v1/ */
  get url(): string {
    return this.api.url;
  }

  /**
   * The notify URL built from the API id and the literal stage name. `api.url` would reference the Stage,
   * which depends on the deployment, which depends on the methods, which reference the functions — and the
   * functions carry this URL in their environment: a CloudFormation cycle.
   */
  get notifyUrl(): string {
    return `https://${this.api.restApiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}/${API_STAGE}${NOTIFY_PATH}`;
  }

  /**
   * The merchant routes, every one requiring a SigV4 caller allowed by IAM (API Gateway then writes the
   * caller into the request context, the only place the functions take a principal from):
   * POST /payouts and GET /payouts/{no_order} (apply, query), GET /payouts?status=AWAITING_APPROVAL
   * (query), POST /payouts/{no_order}/approve|deny|void (review).
   */
  addMerchantRoutes(routes: { apply: IFunction; query: IFunction; review: IFunction }): void {
    const payouts = this.api.root.addResource('payouts');
    const post = payouts.addMethod('POST', new LambdaIntegration(routes.apply), {
      authorizationType: AuthorizationType.IAM,
      requestValidator: this.validator,
      requestModels: { 'application/json': this.objectBody },
    });
    const list = payouts.addMethod('GET', new LambdaIntegration(routes.query), {
      authorizationType: AuthorizationType.IAM,
      requestValidator: this.validator,
      // Not required at the gateway: its 400 would not have the API's error shape; the function names it.
      requestParameters: {
        'method.request.querystring.status': false,
        'method.request.querystring.limit': false,
        'method.request.querystring.cursor': false,
        // The search (issue 12).
        'method.request.querystring.from': false,
        'method.request.querystring.to': false,
        'method.request.querystring.batch_id': false,
      },
    });
    const one = payouts.addResource('{no_order}');
    const get = one.addMethod('GET', new LambdaIntegration(routes.query), {
      authorizationType: AuthorizationType.IAM,
      requestValidator: this.validator,
      requestParameters: {
        'method.request.path.no_order': true,
        'method.request.querystring.refresh': false,
      },
    });
    const review = new LambdaIntegration(routes.review);
    const decisions = REVIEW_ACTIONS.map((action) =>
      one.addResource(action).addMethod('POST', review, {
        authorizationType: AuthorizationType.IAM,
        requestParameters: { 'method.request.path.no_order': true },
      }),
    );
    // Operations (issue 12), served by the query function: the exceptions queue and the acknowledgement of
    // a payout's anomalies. GET /payouts/export.csv is the export function's (addExportRoute).
    const query = new LambdaIntegration(routes.query);
    const exceptions = this.api.root.addResource('exceptions').addMethod('GET', query, {
      authorizationType: AuthorizationType.IAM,
      requestValidator: this.validator,
      requestParameters: { 'method.request.querystring.limit': false },
    });
    const ack = one
      .addResource('anomalies')
      .addResource('ack')
      .addMethod('POST', query, {
        authorizationType: AuthorizationType.IAM,
        requestValidator: this.validator,
        requestModels: { 'application/json': this.objectBody },
        requestParameters: { 'method.request.path.no_order': true },
      });
    NagSuppressions.addResourceSuppressions(
      [post, list, get, ...decisions, exceptions, ack],
      [
        {
          id: 'AwsSolutions-COG4',
          reason:
            'Merchant routes use IAM (SigV4) authorization: the callers are back-end services and operators holding AWS credentials, not users of a Cognito user pool.',
        },
      ],
    );
  }

  /**
   * GET /payouts/export.csv (issue 12): the export function, IAM like the other read routes (the read
   * policies' GET /payouts/* covers it). A literal `export.csv` resource, which API Gateway matches before
   * {no_order} (a no_order never contains a dot). Call after addMerchantRoutes (it adds under /payouts).
   */
  addExportRoute(fn: IFunction): void {
    const payouts = this.api.root.getResource('payouts');
    if (!payouts) throw new Error('addMerchantRoutes must come before addExportRoute');
    const method = payouts.addResource('export.csv').addMethod('GET', new LambdaIntegration(fn), {
      authorizationType: AuthorizationType.IAM,
      requestValidator: this.validator,
      requestParameters: {
        'method.request.querystring.status': false,
        'method.request.querystring.from': false,
        'method.request.querystring.to': false,
        'method.request.querystring.batch_id': false,
      },
    });
    NagSuppressions.addResourceSuppressions(method, [
      {
        id: 'AwsSolutions-COG4',
        reason:
          'Merchant routes use IAM (SigV4) authorization: the callers are back-end services and operators holding AWS credentials, not users of a Cognito user pool.',
      },
    ]);
  }

  /**
   * The batch routes (issue 11), all IAM like the other merchant routes: PUT/GET /batches/{batch_id},
   * GET …/items and …/report.csv, POST …/approve|deny|void — one function behind them.
   */
  addBatchRoutes(fn: IFunction): void {
    const integration = new LambdaIntegration(fn);
    const one = this.api.root.addResource('batches').addResource('{batch_id}');
    const path = { 'method.request.path.batch_id': true };
    const methods = [
      // No body model: a batch may be CSV; the function validates both kinds.
      one.addMethod('PUT', integration, {
        authorizationType: AuthorizationType.IAM,
        requestParameters: path,
      }),
      one.addMethod('GET', integration, {
        authorizationType: AuthorizationType.IAM,
        requestParameters: path,
      }),
      one.addResource('items').addMethod('GET', integration, {
        authorizationType: AuthorizationType.IAM,
        requestParameters: {
          ...path,
          'method.request.querystring.status': false,
          'method.request.querystring.limit': false,
          'method.request.querystring.cursor': false,
        },
      }),
      one
        .addResource('report.csv')
        .addMethod('GET', integration, { authorizationType: AuthorizationType.IAM, requestParameters: path }),
      ...REVIEW_ACTIONS.map((action) =>
        one.addResource(action).addMethod('POST', integration, {
          authorizationType: AuthorizationType.IAM,
          requestParameters: path,
        }),
      ),
    ];
    NagSuppressions.addResourceSuppressions(methods, [
      {
        id: 'AwsSolutions-COG4',
        reason:
          'Merchant routes use IAM (SigV4) authorization: the callers are back-end services and operators holding AWS credentials, not users of a Cognito user pool.',
      },
      {
        id: 'AwsSolutions-APIG2',
        reason:
          'The batch body is JSON or CSV; the function validates every row and answers every error at once.',
      },
    ]);
  }

  /**
   * The two roles of the spending controls, as managed policies to attach to users, groups or roles:
   * submitters create and read payouts; approvers approve, deny and void them, and read. The core refuses
   * an approval by the principal API Gateway authenticated as the creator (same_principal), whatever
   * policies it holds. That principal is the caller's ARN, which for an assumed role includes the session
   * name: a person who may choose their session name and holds both policies could create as one session
   * and approve as another. docs/controls.md says how to pin session names (Identity Center,
   * sts:RoleSessionName = aws:username, or sts:SourceIdentity); a submitting job should not hold Approvers.
   */
  addAccessPolicies(): { submitters: ManagedPolicy; approvers: ManagedPolicy } {
    const invoke = (id: string, description: string, routes: readonly [string, string][]) =>
      new ManagedPolicy(this, id, {
        description,
        statements: [
          new PolicyStatement({
            actions: ['execute-api:Invoke'],
            resources: routes.map(([method, path]) => this.api.arnForExecuteApi(method, path, API_STAGE)),
          }),
        ],
      });
    const read: [string, string][] = [
      ['GET', '/payouts'],
      ['GET', '/payouts/*'],
      // Operations (issue 12); GET /payouts/export.csv is already covered by /payouts/*.
      ['GET', '/exceptions'],
      // Funds (issue 13): the balance beside our in-flight and waiting amounts.
      ['GET', '/balance'],
    ];
    // Batches (issue 11): submitters PUT and read them, approvers decide and read them.
    read.push(['GET', '/batches/*']);
    const submitters = invoke('Submitters', 'lianlian-payout: create and read payouts', [
      ['POST', '/payouts'],
      // An anomaly acknowledgement is an operator's act: it changes no status and moves no money (an
      // acknowledged anomaly still blocks approving a never-sent payout), so it needs no second person.
      ['POST', '/payouts/*/anomalies/ack'],
      ['PUT', '/batches/*'],
      ...read,
    ]);
    const approvers = invoke('Approvers', 'lianlian-payout: approve, deny and void payouts, and read them', [
      ...REVIEW_ACTIONS.map((a): [string, string] => ['POST', `/payouts/*/${a}`]),
      ...REVIEW_ACTIONS.map((a): [string, string] => ['POST', `/batches/*/${a}`]),
      ...read,
    ]);
    NagSuppressions.addResourceSuppressions(
      [submitters, approvers],
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "The wildcard is the {no_order} path segment of this API's own routes (execute-api ARNs name a path parameter with *): each statement allows exactly the listed method and route shape on this stage, nothing else.",
        },
      ],
    );
    return { submitters, approvers };
  }

  /** GET /close/{date}: the daily close's statement (issue 13), IAM (SigV4) callers only. */
  addCloseRoute(close: IFunction): void {
    const method = this.api.root
      .addResource('close')
      .addResource('{date}')
      .addMethod('GET', new LambdaIntegration(close), {
        authorizationType: AuthorizationType.IAM,
        requestParameters: { 'method.request.path.date': true },
      });
    NagSuppressions.addResourceSuppressions(method, [
      {
        id: 'AwsSolutions-COG4',
        reason:
          'The close is read with IAM (SigV4) authorization by finance tooling and operators holding AWS credentials, not by users of a Cognito user pool.',
      },
    ]);
  }

  /** POST /lianlian/notify: no gateway authorization (the provider cannot sign for AWS), raw body kept. */
  addNotifyRoute(notify: IFunction): void {
    const [, first, second] = NOTIFY_PATH.split('/');
    if (!first || !second) throw new Error(`NOTIFY_PATH must have two segments: ${NOTIFY_PATH}`);
    const method = this.api.root
      .addResource(first)
      .addResource(second)
      .addMethod('POST', new LambdaIntegration(notify), { authorizationType: AuthorizationType.NONE });
    NagSuppressions.addResourceSuppressions(method, [
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'The payment provider posts notifications without AWS credentials; authenticity comes from the message signature the notify function verifies (spec §5), optionally narrowed by the source-IP allow-list in the resource policy.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason:
          'No Cognito: the caller is the payment provider, authenticated by its message signature, not a user pool identity.',
      },
    ]);
  }
}

/**
 * Only the notify route is mentioned: an Allow for "*" on the whole API would let any AWS account's signed
 * request through the IAM routes too (same-account callers need either policy to allow, cross-account
 * callers both). With an allow-list, the explicit Deny wins over everything for other source addresses.
 */
function notifyPolicy(cidrs: readonly string[]): PolicyDocument | undefined {
  if (cidrs.length === 0) return undefined;
  return new PolicyDocument({
    statements: [
      new PolicyStatement({
        sid: 'ProviderNotifications',
        effect: Effect.ALLOW,
        principals: [new AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: [NOTIFY_INVOKE_RESOURCE],
      }),
      new PolicyStatement({
        sid: 'NotifyOnlyFromAllowList',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: [NOTIFY_INVOKE_RESOURCE],
        conditions: { NotIpAddress: { 'aws:SourceIp': [...cidrs] } },
      }),
    ],
  });
}
