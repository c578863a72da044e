export * from './client.ts';
export * from './errors.ts';
export * from './instrument.ts';
export type { AadCredentials, TokenProvider } from './token.ts';
