// Public surface of engine/ for the parts of the daemon beside the Engine API (the CRI server).
export { pullImage } from './images/pull';
export type { PullOptions } from './images/pull';
export type { ProgressSink } from './images/progress';
export type { ContainerRecord as EngineContainerRecord } from './containers/types';
export type { ForeignContainers } from './containers/store';
