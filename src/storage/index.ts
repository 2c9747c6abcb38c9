// Public surface of storage/: the engine imports from here.
export { ImageStore } from './images';
export type { ImageRecord, ImportOptions, ImageEvent, ImageStoreOptions } from './images';
export type { DeleteItem, DeleteOptions, ContainerUsing } from './image-delete';
export { parsePlatform, hostPlatform } from './image-config';
export type { ImageConfigFile, ImageRunConfig, HealthConfig, HistoryEntry, Platform } from './image-config';
export type { ImageSummary } from './image-views';
export { parseReference, familiarName, familiarRepository, referenceString, isValidTag } from './reference';
export type { Reference } from './reference';
export { applyChanges } from './changes';
export { unpackLayer, warmUnpackWorkers, stopUnpackWorkers } from './unpack';
export type { UnpackOptions, UnpackResult } from './unpack';
