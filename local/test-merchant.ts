/**
 * The one test merchant number (18 digits): local mode, the sandbox's default, tests and the bench all
 * use it, so they agree by construction. Made up, so it can never be mistaken for the provider's published
 * demo merchant (201408071000001539) or a real one. A leaf module: importing it loads nothing else.
 */
export const LOCAL_OID_PARTNER = '201400000000000001';
