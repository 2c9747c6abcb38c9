// Creating a container: the body checked and merged with the image's config, its name reserved, its networks and
// mounts planned (volumes created), then one record written; nothing runs until start.
import { promises as fs } from 'fs';
import { invalidParameter, notFound, systemError, errorMessage } from '../../common/errors';
import { newId } from '../../common/ids';
import { failpoint } from '../../common/failpoint';
import type { ImageRecord } from '../../storage/images';
import { hostSupport } from '../../runtime/cgroups';
import { nowIso, ZERO_TIME, type EngineCore } from './core';
import { checkName } from './store';
import { generateName } from './names';
import { CreateBody, validateBody, mergeConfig, defaultHostConfig, commandLine } from './create';
import { parseLink, linkView } from './links';
import { checkCreateResources, ociResources } from './resources';
import { planMounts } from './mount-spec';
import type { ContainerMounts } from './mounts';
import { endpointRequests } from './endpoints';
import type { ContainerRecord } from './types';
import { parseSecurityOpt } from './security-opt';
import { validateModes } from './namespaces';

export async function createContainer(core: EngineCore, rawBody: unknown, requestedName?: string, opts: { transient?: boolean } = {}): Promise<{ Id: string; Warnings: string[] }> {
  const body: CreateBody = validateBody(rawBody);
  if (!body.Image) throw invalidParameter('Config cannot be empty in order to create a container');
  const image: ImageRecord = core.images.get(body.Image);
  const imgCfg = image.config?.config ?? {};
  // dockerd (verifyContainerConfig): a relative working directory would be resolved against nothing
  if (body.WorkingDir && !body.WorkingDir.startsWith('/')) throw invalidParameter(`the working directory '${body.WorkingDir}' is invalid, it needs to be an absolute path`);
  const config = mergeConfig(body, imgCfg, body.Image);
  const hostConfig = defaultHostConfig(body.HostConfig);
  const cmd = commandLine(config);
  if (!cmd.length) throw invalidParameter('no command specified');
  validateHostConfig(core, hostConfig);
  const resourceWarnings = checkCreateResources(hostConfig, hostSupport());
  core.refuseLimitsWithoutCgroups(ociResources(hostConfig));
  if (hostConfig.Runtime) core.safeDriver(hostConfig.Runtime);
  const links = (hostConfig.Links as string[] | null | undefined ?? []).map(parseLink);
  for (const l of links) if (!core.store.tryGet(l.name)) throw notFound(`could not get container for ${l.name}: No such container: ${l.name}`);
  const networks = endpointRequests(core.network, hostConfig, body.NetworkingConfig, typeof body.MacAddress === 'string' ? body.MacAddress : undefined);
  const warnings: string[] = [...resourceWarnings];
  if (hostConfig.NetworkMode === 'host' && Object.keys(hostConfig.PortBindings ?? {}).length) {
    warnings.push('Published ports are discarded when using host network mode');
  }
  const planned = planMounts({
    binds: hostConfig.Binds, mounts: hostConfig.Mounts, tmpfs: hostConfig.Tmpfs, volumesFrom: hostConfig.VolumesFrom,
    volumeDriver: hostConfig.VolumeDriver, volumes: config.Volumes,
    mountsOf: (ref) => { const other = core.store.tryGet(ref); return other ? other.MountPoints ?? [] : undefined; },
  });

  const id = newId();
  const name = requestedName ? checkName(requestedName) : generateName((n) => core.store.hasName(n));
  core.store.reserveName(name, id);
  let registered: Awaited<ReturnType<ContainerMounts['register']>>;
  try {
    registered = await core.mounts.register(id, planned);
  } catch (err) {
    core.store.releaseName(name, id);
    throw err;
  }
  const rec: ContainerRecord = {
    Id: id, Name: name, Created: nowIso(), Path: cmd[0], Args: cmd.slice(1), Image: image.id, ImageRef: body.Image,
    Config: { ...config, Hostname: config.Hostname || id.slice(0, 12) },
    HostConfig: links.length ? { ...hostConfig, Links: links.map((l) => linkView(l, name)) } : hostConfig,
    State: { Status: 'created', Pid: 0, ExitCode: 0, Error: '', OOMKilled: false, StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME },
    RestartCount: 0,
    Runtime: hostConfig.Runtime || core.opts.defaultRuntime.name,
    Layers: [...image.chainIds],
    Networks: networks,
    MountPoints: registered.mountPoints,
    ...(opts.transient ? { Transient: true } : {}),
  };
  try {
    await failpoint('container.create.before-record');
    await core.store.add(rec);
  } catch (err) {
    core.store.releaseName(name, id);
    await fs.rm(core.paths.dir(id), { recursive: true, force: true });
    await core.mounts.rollback(id, registered.mountPoints.filter((m) => m.Type === 'volume').map((m) => m.Name!), registered.created);
    throw systemError(`failed to create container: ${errorMessage(err)}`);
  }
  await failpoint('container.create.after-record');
  core.event(rec, 'create');
  return { Id: id, Warnings: warnings };
}

function validateHostConfig(core: EngineCore, h: ReturnType<typeof defaultHostConfig>): void {
  const policies = ['no', 'always', 'on-failure', 'unless-stopped', ''];
  if (!policies.includes(h.RestartPolicy.Name)) throw invalidParameter(`invalid restart policy: unknown policy '${h.RestartPolicy.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  if (h.AutoRemove && h.RestartPolicy.Name !== 'no' && h.RestartPolicy.Name !== '') throw invalidParameter('conflicting options: cannot specify both --restart and --rm');
  const mode = h.NetworkMode;
  if (mode.startsWith('container:')) {
    if (Object.keys(h.PortBindings ?? {}).length || h.PublishAllPorts) throw invalidParameter('conflicting options: port publishing and the container type network mode');
  } else {
    core.network.resolve(mode); // 404 network X not found
  }
  parseSecurityOpt(h.SecurityOpt as string[] | null | undefined); // 400 for an option dockerd does not know
  validateModes(h as unknown as Record<string, unknown>);
  for (const [port, bindings] of Object.entries(h.PortBindings ?? {})) {
    if (!/^\d+(\/(tcp|udp|sctp))?$/.test(port)) throw invalidParameter(`invalid port specification: "${port}"`);
    for (const b of bindings ?? []) if (b.HostPort && !/^\d+(-\d+)?$/.test(b.HostPort)) throw invalidParameter(`invalid port specification: "${b.HostPort}"`);
  }
}
