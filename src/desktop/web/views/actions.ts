// Container actions as the Engine API names them; shared by the list and the detail page.
import { engine } from '../api';

export type ContainerAction = 'start' | 'stop' | 'restart' | 'pause' | 'unpause' | 'kill' | 'remove';

export function containerAction(id: string, action: ContainerAction): Promise<unknown> {
  const path = `/containers/${encodeURIComponent(id)}`;
  if (action === 'remove') return engine('DELETE', `${path}?force=1`);
  return engine('POST', `${path}/${action}`);
}

/** Which actions make sense in a state (the engine still has the last word). */
export function allowed(state: string | undefined, action: ContainerAction): boolean {
  const running = state === 'running' || state === 'restarting';
  switch (action) {
    case 'start': return !running && state !== 'paused';
    case 'stop': case 'restart': case 'kill': return running || state === 'paused';
    case 'pause': return state === 'running';
    case 'unpause': return state === 'paused';
    case 'remove': return true;
  }
}
