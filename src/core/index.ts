export * from './models';
export * from './interfaces';
export * from './errors';
export * from './error-handler';
export * from './logger';
