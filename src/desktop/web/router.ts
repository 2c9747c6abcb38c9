// Hash routes (#/containers, #/containers/<id>/logs, #/images …): the page never reloads to navigate.
import { Store } from './store';

export interface Route { view: string; parts: string[]; params: URLSearchParams }

export function parseHash(hash: string): Route {
  const [path, query] = hash.replace(/^#\/?/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { view: parts[0] || 'containers', parts: parts.slice(1), params: new URLSearchParams(query ?? '') };
}

export const route = new Store<Route>(parseHash(location.hash));
addEventListener('hashchange', () => route.set(parseHash(location.hash)));

export function go(hash: string): void { location.hash = hash; }
export const href = (...parts: string[]) => '#/' + parts.map(encodeURIComponent).join('/');
