export * from './types';
export * from './migrations';
export * from './postgres-store';
export * from './embedded';
