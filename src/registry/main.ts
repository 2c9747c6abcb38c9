// Entry of the registry bundle (dist/registry-server.js), loaded by `berth registry serve` only: the
// server and bcryptjs stay out of the CLI bundle every other command pays to load.
export { serve, parseAddr } from './server';
export type { ServeOptions, RunningRegistry } from './server';
export { setLogLevel } from '../common/log';
