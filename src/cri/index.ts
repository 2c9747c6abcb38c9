// Public surface of cri/: the daemon creates a CriServer and hands the Engine API its pods and containers.
export { CriServer } from './server';
export type { CriOptions } from './server';
