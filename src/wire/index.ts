export * from './dataUri.ts';
export * from './dates.ts';
export * from './envelope.ts';
export * from './hal.ts';
export * from './href.ts';
export * from './json.ts';
export * from './rels.ts';
