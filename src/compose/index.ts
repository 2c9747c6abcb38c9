// berth compose: the compose-spec loader, the planner and the commands, as a client of the Engine API.
// The CLI (src/cli/commands/compose.ts) parses flags and renders tables; everything else is here.
export { loadProject, LoadError, normalizeProjectName, resolveFiles } from './loader';
export type { LoadOptions } from './loader';
export type { Project, ServiceConfig } from './types';
export { createProgress } from './progress';
export type { Progress, ProgressMode } from './progress';
export { ComposeError, projectContainers, serviceOf, nameOf, numberOf } from './state';
export type { ComposeEnv } from './state';
export { up, down, create, act, rm, wait, scale, serviceContainer, listProjects, containersOf } from './ops';
export { exec, run, attach } from './interactive';
export { streamLogs } from './logs';
export { buildService, pullService, pushService, splitRef } from './images';
export { configYaml, configJson, listServices, listVolumes, listNetworks, listImages, listProfiles, listHashes, canonical } from './config';
export { serviceHash, L as LABELS, COMPOSE_VERSION, imageName } from './convert';
export { selectServices } from './up';
export { parseDotenv } from './dotenv';
export { substitute } from './template';
