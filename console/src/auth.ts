import type { Authenticate } from './api';
import type { ConsoleConfig } from './config';

/**
 * Who is using the console. Local mode: a name picked on the sign-in page, sent as `x-principal` (the
 * local front turns it into the caller identity; the deployed API ignores that header). AWS mode: a
 * Cognito sign-in whose identity-pool credentials sign every API call with SigV4 (aws-auth.ts, loaded
 * only on AWS so local bundles stay small).
 */
export interface Session {
  readonly name: string;
  readonly authenticate: Authenticate;
  signOut(): void;
}

const LOCAL_KEY = 'console.principal';
export const LOCAL_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

/** The local principal lives in sessionStorage: two windows can be two people. */
export function localSession(): Session | undefined {
  const name = sessionStorage.getItem(LOCAL_KEY);
  if (!name || !LOCAL_NAME.test(name)) return undefined;
  return {
    name,
    authenticate: async (request) => {
      const headers = new Headers(request.headers);
      headers.set('x-principal', name);
      return new Request(request, { headers });
    },
    signOut: () => sessionStorage.removeItem(LOCAL_KEY),
  };
}

export function localSignIn(name: string): Session | undefined {
  if (!LOCAL_NAME.test(name)) return undefined;
  sessionStorage.setItem(LOCAL_KEY, name);
  return localSession();
}

export async function awsSession(config: ConsoleConfig): Promise<Session | undefined> {
  const { restoreAwsSession } = await import('./aws-auth');
  return restoreAwsSession(config);
}

export async function awsSignIn(config: ConsoleConfig): Promise<void> {
  const { startAwsSignIn } = await import('./aws-auth');
  await startAwsSignIn(config);
}
