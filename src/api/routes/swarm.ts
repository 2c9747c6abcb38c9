// The swarm endpoints, answered as a dockerd whose swarm is inactive answers them: berth has no swarm mode (it
// reaches beyond one machine through Kubernetes' CRI), but clients probe and clean up swarm state (docker-py's
// tests leave the swarm before each network test, `docker info` reads Swarm.LocalNodeState), so they get docker's
// statuses and texts instead of 404 "page not found".
import type { Router } from '../router';
import { EngineError } from '../../common/errors';

/** dockerd's text (daemon/cluster) for every manager-only call on a node outside any swarm. */
export const NOT_A_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
/** dockerd's text for leaving a swarm the node never joined. */
export const NOT_IN_SWARM = 'This node is not part of a swarm';
/** What init and join get: a dockerd would start a swarm here, berth cannot. */
export const NO_SWARM_MODE = 'berth does not support swarm mode: this node cannot create or join a swarm';

const unavailable = (msg: string) => (): never => { throw new EngineError(503, msg); };

export function swarmRoutes(r: Router): void {
  const notManager = unavailable(NOT_A_MANAGER);
  r.add('GET', '/swarm', notManager);
  r.add('POST', '/swarm/init', unavailable(NO_SWARM_MODE));
  r.add('POST', '/swarm/join', unavailable(NO_SWARM_MODE));
  r.add('POST', '/swarm/leave', unavailable(NOT_IN_SWARM));
  r.add('POST', '/swarm/update', notManager);
  r.add('GET', '/swarm/unlockkey', notManager);
  r.add('POST', '/swarm/unlock', notManager);
  for (const kind of ['services', 'nodes', 'secrets', 'configs', 'tasks']) {
    r.add('GET', `/${kind}`, notManager);
    r.add('GET', `/${kind}/{id}`, notManager);
    r.add('DELETE', `/${kind}/{id}`, notManager);
    r.add('POST', `/${kind}/{id}/update`, notManager);
  }
  for (const kind of ['services', 'secrets', 'configs']) r.add('POST', `/${kind}/create`, notManager);
  r.add('GET', '/services/{id}/logs', notManager);
  r.add('GET', '/tasks/{id}/logs', notManager);
}
