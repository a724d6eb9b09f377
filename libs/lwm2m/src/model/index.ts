export * from './types';
export * from './ddf-parser';
export * from './registry';
