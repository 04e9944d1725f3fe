export * from './config';
export * from './errors';
export * from './kafka';
export * from './logger';
export * from './mongo';
