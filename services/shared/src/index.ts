export * from './config';
export * from './errors';
export * from './event';
export * from './ids';
export * from './kafka';
export * from './log-model';
export * from './logger';
export * from './mongo';
