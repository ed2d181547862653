import type { APIGatewayProxyEvent } from 'aws-lambda';
import { HttpError } from './http';

/**
 * Who is asking, as API Gateway authenticated them. Only the request context counts: API Gateway writes it
 * after SigV4 (IAM) authorization and a client cannot set it. Headers are never read here, so no header can
 * name a principal in the deployed API. Local mode's front writes `identity.userArn` itself from its
 * `x-principal` header (local/front.ts), which keeps these handlers identical in both modes.
 *
 * IAM callers are named by their ARN (`…:assumed-role/Approver/alice` for a role session), else by the
 * caller id. Callers with Cognito identity-pool credentials (the web console, infra/constructs/console.ts)
 * are named by their Cognito identity id instead (`cognito:<region>:<uuid>`): every user mapped to one
 * role shares that role's session name (`CognitoIdentityCredentials`), so the ARN would make all
 * operators one person, while the identity id is one per person whichever group's role they use — so
 * the second-person rule holds for people as for machines. A later Cognito authorizer adds its claims under `requestContext.authorizer`; they would be
 * read here, first, and nowhere else.
 */
export function principalOf(event: Pick<APIGatewayProxyEvent, 'requestContext'>): string {
  const identity = event.requestContext?.identity;
  const cognito = nonEmpty(identity?.cognitoIdentityId);
  const principal = cognito
    ? `cognito:${cognito}`
    : (nonEmpty(identity?.userArn) ?? nonEmpty(identity?.caller));
  // Every merchant route requires IAM authorization, so a missing identity means a misconfigured route,
  // and acting without knowing who asked would defeat the second-person rule: refuse.
  if (!principal) throw new HttpError(403, 'no_principal', 'the request carries no authenticated caller');
  return principal;
}

function nonEmpty(value: string | null | undefined): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
