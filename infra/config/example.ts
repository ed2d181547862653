/**
 * EXAMPLE VALUES — NOT LianLian's key and NOT a real merchant. They exist so that a bare `npx cdk synth`
 * (env=dev) works on a fresh clone with no context. The key was generated for this repository and its
 * private half was thrown away: a dev stack deployed with it can verify no provider answer at all, so
 * every answer fails closed (UNKNOWN, keep querying) — nothing is ever believed. Real deployments pass
 * `-c oidPartner=… -c providerPublicKey=…`; env=prod has no defaults for either and refuses to synth
 * without them.
 */
export const EXAMPLE_OID_PARTNER = '201400000000000001';
export const EXAMPLE_PROVIDER_PUBLIC_KEY =
  'MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDW/Rku94Q7GduHUSvfq+X9+SCp866hRE1FV3wLJp9CBRK+jGknezV9I+xCd3dlpf0dbwkMV46uQObVFJwhDIpMos1cTKQs4eGLbRolSQdj3Nh1t94mILFY/4GA/KBWALSVGBVJf/C1xq0iluFZotcH3yNZaoBAysTmrcGzcdeiaQIDAQAB';
