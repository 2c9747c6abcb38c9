// /networks: the built-in networks (bridge, host, none), so `docker network ls` works.
// User-defined networks come with the networking issue.
import type { Daemon } from '../../daemon/daemon';
import type { Router } from '../router';
import { notFound } from '../../common/errors';

export function networkRoutes(r: Router, d: Daemon): void {
  r.add('GET', '/networks', () => d.network.listNetworks());
  r.add('GET', '/networks/{id}', (ctx) => {
    const id = ctx.params.id;
    const net = (d.network.listNetworks() as Array<{ Id: string; Name: string }>).find((n) => n.Name === id || n.Id === id || (id.length >= 3 && n.Id.startsWith(id)));
    if (!net) throw notFound(`network ${id} not found`);
    return net;
  });
}
