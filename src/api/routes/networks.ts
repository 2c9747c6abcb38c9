// /networks: the built-in networks (bridge, host, none), so `docker network ls` works.
// User-defined networks come with the networking issue.
import type { Daemon } from '../../daemon/daemon';
import type { Router } from '../router';

export function networkRoutes(r: Router, d: Daemon): void {
  r.add('GET', '/networks', () => d.network.listNetworks());
  r.add('GET', '/networks/{id}', (ctx) => d.network.inspectNetwork(ctx.params.id));
}
