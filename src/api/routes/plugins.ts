// /plugins: berth has no managed plugins (docker's plugins are images run by the daemon as privileged helpers).
// It answers consistently as a daemon with no plugin installed that cannot install one: the list is empty, every
// named plugin is not found (dockerd's text), and installing (pull, create, upgrade, push) or asking for a remote
// plugin's privileges is 501 Not Implemented with one message.
import type { Router } from '../router';
import { EngineError, notFound } from '../../common/errors';

export const PLUGINS_UNSUPPORTED = 'plugins are not supported by berth';

const unsupported = (): never => { throw new EngineError(501, PLUGINS_UNSUPPORTED); };

export function pluginRoutes(r: Router): void {
  r.add('GET', '/plugins', () => []);
  r.add('GET', '/plugins/privileges', unsupported);
  r.add('POST', '/plugins/pull', unsupported);
  r.add('POST', '/plugins/create', unsupported);
  const missing = (ctx: { params: Record<string, string> }): never => { throw notFound(`plugin "${ctx.params.name}" not found`); };
  r.add('GET', '/plugins/{name*}/json', missing);
  r.add('DELETE', '/plugins/{name*}', missing);
  r.add('POST', '/plugins/{name*}/enable', missing);
  r.add('POST', '/plugins/{name*}/disable', missing);
  r.add('POST', '/plugins/{name*}/upgrade', missing);
  r.add('POST', '/plugins/{name*}/push', missing);
  r.add('POST', '/plugins/{name*}/set', missing);
}
