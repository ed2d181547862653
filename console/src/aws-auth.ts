import type { Session } from './auth';
import type { ConsoleConfig } from './config';
import { signForApi } from './sigv4';

/**
 * AWS mode sign-in: the Cognito hosted UI (authorization code + PKCE) gives an ID token; the identity
 * pool turns it into temporary credentials of the role mapped to the user's group (viewers, operators,
 * approvers: infra/constructs/console.ts); every API call is signed with SigV4 like any IAM caller's.
 * API Gateway then puts the Cognito identity id in the request context, and the service names the
 * principal by it (functions/shared/principal.ts), so two people sharing a role stay two people.
 */
const TOKEN_KEY = 'console.idToken';
const VERIFIER_KEY = 'console.pkce';

function redirectUri(): string {
  return `${window.location.origin}${import.meta.env.BASE_URL}`;
}

function base64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

export async function startAwsSignIn(config: ConsoleConfig): Promise<void> {
  const verifier = base64Url(crypto.getRandomValues(new Uint8Array(32)));
  sessionStorage.setItem(VERIFIER_KEY, verifier);
  const challenge = base64Url(
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))),
  );
  const url = new URL(`https://${config.cognitoDomain}/oauth2/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: config.userPoolClientId ?? '',
    redirect_uri: redirectUri(),
    scope: 'openid email profile',
    code_challenge_method: 'S256',
    code_challenge: challenge,
  }).toString();
  window.location.assign(url.toString());
}

async function exchangeCode(config: ConsoleConfig, code: string): Promise<string | undefined> {
  const verifier = sessionStorage.getItem(VERIFIER_KEY);
  if (!verifier) return undefined;
  const response = await fetch(`https://${config.cognitoDomain}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: config.userPoolClientId ?? '',
      code,
      redirect_uri: redirectUri(),
      code_verifier: verifier,
    }),
  });
  sessionStorage.removeItem(VERIFIER_KEY);
  if (!response.ok) return undefined;
  return ((await response.json()) as { id_token?: string }).id_token;
}

async function cognitoIdentity<T>(config: ConsoleConfig, target: string, body: unknown): Promise<T> {
  const response = await fetch(`https://cognito-identity.${config.region}.amazonaws.com/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `AWSCognitoIdentityService.${target}`,
    },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`Cognito ${target}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: number;
}

async function credentialsFor(config: ConsoleConfig, idToken: string): Promise<Credentials> {
  const logins = { [`cognito-idp.${config.region}.amazonaws.com/${config.userPoolId}`]: idToken };
  const { IdentityId } = await cognitoIdentity<{ IdentityId: string }>(config, 'GetId', {
    IdentityPoolId: config.identityPoolId,
    Logins: logins,
  });
  const { Credentials: c } = await cognitoIdentity<{
    Credentials: { AccessKeyId: string; SecretKey: string; SessionToken: string; Expiration: number };
  }>(config, 'GetCredentialsForIdentity', { IdentityId, Logins: logins });
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretKey,
    sessionToken: c.SessionToken,
    expiration: c.Expiration * 1000,
  };
}

function claimsOf(idToken: string): { email?: string; 'cognito:username'?: string; exp?: number } {
  const part = idToken.split('.')[1] ?? '';
  return JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/')));
}

export async function restoreAwsSession(config: ConsoleConfig): Promise<Session | undefined> {
  const code = new URLSearchParams(window.location.search).get('code');
  if (code) {
    const token = await exchangeCode(config, code);
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    window.history.replaceState(null, '', redirectUri() + window.location.hash);
  }
  const idToken = sessionStorage.getItem(TOKEN_KEY);
  if (!idToken) return undefined;
  const claims = claimsOf(idToken);
  if (!claims.exp || claims.exp * 1000 < Date.now()) {
    sessionStorage.removeItem(TOKEN_KEY);
    return undefined;
  }
  let credentials = await credentialsFor(config, idToken);
  const current = async () => {
    if (credentials.expiration - Date.now() < 60_000) credentials = await credentialsFor(config, idToken);
    const { accessKeyId, secretAccessKey, sessionToken } = credentials;
    return { accessKeyId, secretAccessKey, sessionToken };
  };
  return {
    name: claims.email ?? claims['cognito:username'] ?? 'user',
    // Signed for API Gateway's host and stage path: CloudFront forwards the request there unchanged but
    // for Host (infra/constructs/console.ts), so the signature is checked against what it was made for.
    authenticate: (request) =>
      signForApi(
        request,
        {
          region: config.region ?? 'us-east-1',
          ...(config.apiSignHost ? { host: config.apiSignHost } : {}),
          ...(config.apiSignPathPrefix ? { pathPrefix: config.apiSignPathPrefix } : {}),
        },
        current,
      ),
    signOut: () => {
      sessionStorage.removeItem(TOKEN_KEY);
      window.location.assign(
        `https://${config.cognitoDomain}/logout?client_id=${config.userPoolClientId}&logout_uri=${encodeURIComponent(redirectUri())}`,
      );
    },
  };
}
