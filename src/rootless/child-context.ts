// What the rootless parent tells the daemon it starts inside the namespaces (an environment variable, JSON).
import type { IdRange } from './subids';

export const CHILD_ENV = 'BERTH_ROOTLESS_CHILD';

export interface RootlessChildContext {
  parentPid: number;
  /** the parent's control socket (control.ts) */
  controlSocket: string;
  network: 'slirp4netns';
  /** the user-mode network's resolver, for /etc/resolv.conf inside */
  dns: string;
  /** the user's uid on the host (root of the namespace) */
  hostUid: number;
  subuids: IdRange[];
  subgids: IdRange[];
  /** <exec root>/rootless: the parent's files */
  rootlessDir: string;
}

export function childContextFromEnv(env: NodeJS.ProcessEnv = process.env): RootlessChildContext | undefined {
  const raw = env[CHILD_ENV];
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as RootlessChildContext;
  } catch {
    return undefined;
  }
}
