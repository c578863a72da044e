export * from './client.ts';
export * from './errors.ts';
export type { AadCredentials, TokenProvider } from './token.ts';
