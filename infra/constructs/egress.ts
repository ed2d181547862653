import { RemovalPolicy } from 'aws-cdk-lib';
import {
  FlowLogDestination,
  FlowLogTrafficType,
  GatewayVpcEndpointAwsService,
  NatProvider,
  Peer,
  Port,
  SecurityGroup,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { FunctionNetwork } from './payout-function';

export interface FixedEgressProps {
  /**
   * Elastic IPs allocated outside the stack (so the addresses registered with the provider survive any
   * redeployment or replacement of the VPC). One NAT gateway, and one availability zone, per id.
   */
  readonly eipAllocationIds: readonly string[];
  /** TCP ports the functions may reach: 443 for AWS APIs, plus the provider's port. */
  readonly egressPorts: readonly number[];
  readonly logRetention: RetentionDays;
  readonly production: boolean;
}

/**
 * A fixed source address for calls to the provider, whose merchant allow-list (ret_code 1008, "request IP
 * not allowed") only knows IP addresses. Lambda has no fixed egress address of its own: the functions that
 * call the provider join private subnets whose default route is a NAT gateway holding one of the given
 * Elastic IPs. DynamoDB is reached through a free gateway endpoint; KMS, SSM and X-Ray go through the NAT.
 */
export class FixedEgress extends Construct {
  readonly vpc: Vpc;
  readonly network: FunctionNetwork;

  constructor(scope: Construct, id: string, props: FixedEgressProps) {
    super(scope, id);
    const count = props.eipAllocationIds.length;
    this.vpc = new Vpc(this, 'Vpc', {
      maxAzs: count,
      natGateways: count,
      natGatewayProvider: NatProvider.gateway({ eipAllocationIds: [...props.eipAllocationIds] }),
      subnetConfiguration: [
        { name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'functions', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      gatewayEndpoints: { DynamoDb: { service: GatewayVpcEndpointAwsService.DYNAMODB } },
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: FlowLogDestination.toCloudWatchLogs(
        new LogGroup(this, 'FlowLogs', {
          retention: props.logRetention,
          removalPolicy: props.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
        }),
      ),
      trafficType: FlowLogTrafficType.ALL,
    });
    const securityGroup = new SecurityGroup(this, 'FunctionsSg', {
      vpc: this.vpc,
      description: 'lianlian-payout functions: no inbound; outbound only to the HTTPS ports they call',
      allowAllOutbound: false,
    });
    for (const port of new Set([443, ...props.egressPorts])) {
      securityGroup.addEgressRule(
        Peer.anyIpv4(),
        Port.tcp(port),
        `HTTPS to AWS APIs and the provider (${port})`,
      );
    }
    this.network = {
      vpc: this.vpc,
      vpcSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [securityGroup],
    };
  }
}
