import { join } from 'node:path';
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import {
  type IGrantable,
  type IPrincipal,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import type { FunctionName } from '../../src/config/contract';

/** The network a function joins when the deployment needs a fixed egress address. */
export interface FunctionNetwork {
  readonly vpc: IVpc;
  readonly vpcSubnets: SubnetSelection;
  readonly securityGroups: ISecurityGroup[];
}

/** Settings every payout function shares; the stack decides them once. */
export interface FunctionDefaults {
  /** Folder holding `functions/<name>/index.ts` and the npm lock file (the repository root). */
  readonly sourceRoot: string;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly environment: Readonly<Record<string, string>>;
}

export interface PayoutFunctionProps {
  /** functions/<name>/index.ts; `close` (issue 13) is built by infra/constructs/reports.ts. */
  readonly name: FunctionName | 'close';
  readonly defaults: FunctionDefaults;
  readonly timeout: Duration;
  readonly memorySize?: number;
  readonly environment?: Readonly<Record<string, string>>;
  readonly network?: FunctionNetwork;
  readonly description?: string;
  /** Async invocations only (the schedule): 0 when the next scheduled run is the retry. */
  readonly retryAttempts?: number;
}

/**
 * One Lambda function with the project's defaults written once: Node.js 22 on arm64, ESM bundle built by
 * the local esbuild (never Docker), active tracing, its own log group with a retention, and its own role
 * that starts with nothing but writing to that log group. Every other permission is granted explicitly by
 * the construct that owns the resource.
 */
export class PayoutFunction extends Construct implements IGrantable {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  readonly grantPrincipal: IPrincipal;

  constructor(scope: Construct, id: string, props: PayoutFunctionProps) {
    super(scope, id);
    const { defaults } = props;

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: defaults.logRetention,
      removalPolicy: defaults.removalPolicy,
    });

    // A role of our own instead of the default one: the default attaches the AWS managed
    // AWSLambdaBasicExecutionRole, which may write to every log group in the account.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `lianlian-payout ${props.name} function`,
    });
    this.grantPrincipal = this.role;
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: join(defaults.sourceRoot, 'functions', props.name, 'index.ts'),
      handler: 'handler',
      projectRoot: defaults.sourceRoot,
      depsLockFilePath: join(defaults.sourceRoot, 'package-lock.json'),
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout,
      tracing: Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      retryAttempts: props.retryAttempts,
      environment: {
        // Stack traces point at the TypeScript sources; the bundle ships its source map.
        NODE_OPTIONS: '--enable-source-maps',
        ...defaults.environment,
        ...props.environment,
      },
      ...(props.network
        ? {
            vpc: props.network.vpc,
            vpcSubnets: props.network.vpcSubnets,
            securityGroups: props.network.securityGroups,
          }
        : {}),
      bundling: {
        forceDockerBundling: false,
        // esbuild's size table on every synth is noise; warnings and errors still show.
        logLevel: LogLevel.WARNING,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        // Bundled CommonJS dependencies still call require(); ESM has none, so the bundle makes one.
        banner:
          "import { createRequire as __payoutCreateRequire } from 'node:module'; const require = __payoutCreateRequire(import.meta.url);",
        // Everything is bundled, the AWS SDK included: the functions run the exact versions the tests ran,
        // not whichever SDK the managed runtime ships that month.
        externalModules: [],
        // Lambda gives credentials in environment variables; the SDK's full default chain (SSO, INI,
        // web identity and their STS/SSO clients) would add ~100 KB to every bundle for nothing.
        esbuildArgs: {
          '--alias:@aws-sdk/credential-provider-node': join(
            defaults.sourceRoot,
            'functions',
            'shared',
            'lambda-credentials.ts',
          ),
        },
      },
    });

    // X-Ray's write API (and, in a VPC, the EC2 network-interface API Lambda uses with this role) has no
    // resource-level permissions.
    if (props.network) this.allowNetworkInterfaces();
    NagSuppressions.addResourceSuppressions(
      this.role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason: props.network
            ? 'Resource "*" only for actions without resource-level permissions: xray:PutTraceSegments/PutTelemetryRecords (added by CDK for active tracing) and the EC2 network-interface actions Lambda needs in a VPC (the same statement as the AWS managed AWSLambdaVPCAccessExecutionRole).'
            : 'Resource "*" only for xray:PutTraceSegments and xray:PutTelemetryRecords, which have no resource-level permissions (added by CDK for active tracing).',
          appliesTo: ['Resource::*'],
        },
      ],
      true,
    );
    NagSuppressions.addResourceSuppressions(this.function, [
      {
        id: 'AwsSolutions-L1',
        reason:
          'Pinned to nodejs22.x on purpose: the bundle targets node22 and the tests run on that major; moving to a newer runtime is a deliberate, tested change.',
      },
    ]);
  }

  addEnvironment(name: string, value: string): this {
    this.function.addEnvironment(name, value);
    return this;
  }

  // Lambda creates the function's ENIs with the execution role; CDK only adds this to roles it creates.
  private allowNetworkInterfaces(): void {
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    );
  }
}
