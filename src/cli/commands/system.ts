// version, info, and the inspect family (inspect, container inspect, image inspect).
import { CommandSpec, StatusError, flagDefs, Parsed, BIN, VERSION } from '../command';
import type { Cmd, Ctx } from '../cmd';
import { ApiError, API_VERSION } from '../../client';
import { Template, TemplateError, FuncMap, basicFuncs } from '../format/template';
import { tabulate } from '../format/tabwriter';
import { bytesSize } from '../format/units';
import { indentJson, compactJson, goJson } from '../format/json';

export const INSPECT_FORMAT_HELP = `Format output using a custom template:
'json':             Print in JSON format
'TEMPLATE':         Print output using the given Go template.
Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates`;

export function command(id: string): Cmd {
  switch (id) {
    case 'version': return versionCommand();
    case 'info': case 'system info': return infoCommand();
    case 'inspect': return inspectCommand();
    case 'container inspect': return containerInspectCommand();
    case 'image inspect': return imageInspectCommand();
  }
  throw new Error(`unknown command ${id}`);
}

// ---------------------------------------------------------------------------------------------------
// version

/** time.ANSIC: "Mon Jan _2 15:04:05 2006". */
function ansic(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getDay()]} ${months[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${d.getFullYear()}`;
}

/** The CLI's own version data (Go field names for templates, docker's JSON names for `json`). */
class ClientVersion {
  get goType(): string { return 'system.clientVersion'; }
  Platform = null;
  Version = VERSION;
  APIVersion = process.env.BERTH_API_VERSION || process.env.DOCKER_API_VERSION || API_VERSION;
  DefaultAPIVersion = API_VERSION;
  GoVersion = process.version;
  GitCommit = 'unknown';
  BuildTime: string;
  Os = process.platform;
  Arch = process.arch === 'x64' ? 'amd64' : process.arch;
  Context = 'default';
  constructor() {
    let built = '';
    try {
      const fs: typeof import('fs') = require('fs');
      built = ansic(fs.statSync(__filename).mtime);
    } catch { /* unknown */ }
    this.BuildTime = built;
  }
  toJSON(): Record<string, unknown> {
    return {
      Version: this.Version, ApiVersion: this.APIVersion, DefaultAPIVersion: this.DefaultAPIVersion, GitCommit: this.GitCommit,
      GoVersion: this.GoVersion, Os: this.Os, Arch: this.Arch, BuildTime: this.BuildTime, Context: this.Context,
    };
  }
}

const VERSION_TEMPLATE = `{{with .Client -}}
Client:{{if ne .Platform nil}}{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}{{end}}
 Version:\t{{.Version}}
 API version:\t{{.APIVersion}}{{if ne .APIVersion .DefaultAPIVersion}} (downgraded from {{.DefaultAPIVersion}}){{end}}
 Node version:\t{{.GoVersion}}
 Git commit:\t{{.GitCommit}}
 Built:\t{{.BuildTime}}
 OS/Arch:\t{{.Os}}/{{.Arch}}
 Context:\t{{.Context}}
{{- end}}

{{- if ne .Server nil}}{{with .Server}}

Server:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 {{- range $component := .Components}}
 {{$component.Name}}:
  {{- if eq $component.Name "Engine" }}
  Version:\t{{.Version}}
  API version:\t{{index .Details "ApiVersion"}} (minimum version {{index .Details "MinAPIVersion"}})
  Go version:\t{{index .Details "GoVersion"}}
  Git commit:\t{{index .Details "GitCommit"}}
  Built:\t{{index .Details "BuildTime"}}
  OS/Arch:\t{{index .Details "Os"}}/{{index .Details "Arch"}}
  Experimental:\t{{index .Details "Experimental"}}
  {{- else }}
  Version:\t{{$component.Version}}
  {{- $detailsOrder := getDetailsOrder $component}}
  {{- range $key := $detailsOrder}}
  {{$key}}:\t{{index $component.Details $key}}
   {{- end}}
  {{- end}}
 {{- end}}
 {{- end}}{{- end}}`;

function reformatDate(s: string): string {
  const t = Date.parse(s);
  return /^\d{4}-\d{2}-\d{2}T/.test(s) && !isNaN(t) ? ansic(new Date(t)) : s;
}

function versionCommand(): Cmd {
  return {
    spec: {
      path: 'version', use: '[OPTIONS]', short: 'Show the berth version information', args: 'none',
      flags: flagDefs([['f', 'format', 'string', INSPECT_FORMAT_HELP]]),
    },
    async run(ctx, p) {
      let format = p.str('format');
      if (format === '') format = VERSION_TEMPLATE;
      else if (format === 'json') format = '{{json .}}';
      const funcs: FuncMap = {
        ...basicFuncs,
        getDetailsOrder: { fn: (c: { Details?: Record<string, string> }) => Object.keys(c?.Details ?? {}).sort(), params: ['any'] },
      };
      let tmpl: Template;
      try {
        tmpl = new Template(format, 'version', funcs);
      } catch (err) {
        throw new StatusError(64, `template parsing error: ${(err as Error).message}`);
      }
      const data: { Client: ClientVersion; Server: Record<string, unknown> | null; goType: string } = {
        Client: new ClientVersion(), Server: null, get goType() { return 'system.versionInfo'; },
      };
      Object.defineProperty(data, 'toJSON', { value: () => ({ Client: data.Client, Server: data.Server }) });
      let connErr: Error | undefined;
      try {
        const sv = (await ctx.client().serverVersion()) as Record<string, any>;
        const comps: any[] = Array.isArray(sv.Components) ? sv.Components : [];
        let found = false;
        for (const c of comps) {
          if (c.Name === 'Engine') {
            found = true;
            if (c.Details?.BuildTime) c.Details.BuildTime = reformatDate(c.Details.BuildTime);
          }
        }
        if (!found) {
          comps.push({
            Name: 'Engine', Version: sv.Version,
            Details: {
              ApiVersion: sv.ApiVersion, MinAPIVersion: sv.MinAPIVersion, GitCommit: sv.GitCommit, GoVersion: sv.GoVersion,
              Os: sv.Os, Arch: sv.Arch, BuildTime: reformatDate(sv.BuildTime ?? ''), Experimental: String(!!sv.Experimental),
            },
          });
        }
        sv.Components = comps;
        sv.Platform ??= { Name: '' };
        data.Server = sv;
      } catch (err) {
        connErr = err as Error;
      }
      let text: string;
      let execErr: Error | undefined;
      try {
        text = tmpl.execute(data);
      } catch (err) {
        execErr = err as Error;
        text = '';
      }
      ctx.out(tabulate(text + '\n', 20, 1));
      if (connErr) throw connErr;
      if (execErr) throw execErr;
      return 0;
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// info

function infoCommand(): Cmd {
  return {
    spec: {
      path: 'info', use: '[OPTIONS]', short: 'Display system-wide information', aliases: `${BIN} system info, ${BIN} info`,
      args: 'none', flags: flagDefs([['f', 'format', 'string', INSPECT_FORMAT_HELP]]),
    },
    run: runInfo,
  };
}

async function runInfo(ctx: Ctx, p: Parsed): Promise<number> {
  const format = p.str('format');
  const clientInfo = {
    Debug: ctx.debug, Version: VERSION, DefaultAPIVersion: API_VERSION, GitCommit: 'unknown', GoVersion: process.version,
    Os: process.platform, Arch: process.arch === 'x64' ? 'amd64' : process.arch, BuildTime: '', Context: 'default',
    Plugins: [] as unknown[], Warnings: null,
  };
  let tmpl: Template | undefined;
  if (format !== '') {
    try {
      tmpl = new Template(format === 'json' ? '{{json .}}' : format);
    } catch (err) {
      throw new StatusError(64, `template parsing error: ${(err as Error).message}`);
    }
  }
  // Only ask the daemon when the template needs more than the client section.
  let needServer = true;
  if (tmpl && format !== 'json' && !/\{\{\s*json\s+\.\s*\}\}/.test(format)) {
    if (!/\.[a-zA-Z]/.test(format)) needServer = true;
    else {
      try {
        tmpl.execute({ ClientInfo: clientInfo }, { missingKey: 'error' });
        needServer = false;
      } catch { needServer = true; }
    }
  }
  let info: Record<string, any> | undefined;
  let connErr: Error | undefined;
  if (needServer) {
    try {
      info = await ctx.client().info();
    } catch (err) {
      if ((err as Error).name === 'ConnectionError') connErr = err as Error;
      else {
        connErr = err as Error;
        if (tmpl) ctx.err((err as Error).message + '\n');
      }
    }
  }
  if (!tmpl) {
    let out = 'Client:\n';
    out += ` Version:    ${VERSION}\n Context:    default\n Debug Mode: ${ctx.debug}\n`;
    out += '\nServer:\n';
    if (info) out += prettyServerInfo(ctx, info);
    ctx.out(out);
    if (connErr) throw connErr;
    return 0;
  }
  const data = { ...(info ?? {}), ClientInfo: clientInfo };
  let text = '';
  let execErr: Error | undefined;
  try {
    text = tmpl.execute(data, { missingKey: 'structs' });
  } catch (err) {
    execErr = err as Error;
  }
  ctx.out(text + '\n');
  if (connErr && connErr.name === 'ConnectionError') throw connErr;
  if (execErr) throw execErr;
  return 0;
}

function prettyServerInfo(ctx: Ctx, i: Record<string, any>): string {
  const lines: string[] = [];
  const ln = (...a: unknown[]) => lines.push(a.map((x) => (x === undefined || x === null ? '' : String(x))).join(' '));
  const nonEmpty = (label: string, v: unknown) => { if (v !== undefined && v !== null && v !== '') ln(label, v); };
  ln(' Containers:', i.Containers ?? 0);
  ln('  Running:', i.ContainersRunning ?? 0);
  ln('  Paused:', i.ContainersPaused ?? 0);
  ln('  Stopped:', i.ContainersStopped ?? 0);
  ln(' Images:', i.Images ?? 0);
  nonEmpty(' Server Version:', i.ServerVersion);
  nonEmpty(' Storage Driver:', i.Driver);
  for (const pair of i.DriverStatus ?? []) lines.push(`  ${pair[0]}: ${pair[1]}`);
  for (const pair of i.SystemStatus ?? []) lines.push(` ${pair[0]}: ${pair[1]}`);
  nonEmpty(' Logging Driver:', i.LoggingDriver);
  nonEmpty(' Cgroup Driver:', i.CgroupDriver);
  nonEmpty(' Cgroup Version:', i.CgroupVersion);
  ln(' Plugins:');
  ln('  Volume:', (i.Plugins?.Volume ?? []).join(' '));
  ln('  Network:', (i.Plugins?.Network ?? []).join(' '));
  if ((i.Plugins?.Authorization ?? []).length) ln('  Authorization:', i.Plugins.Authorization.join(' '));
  ln('  Log:', (i.Plugins?.Log ?? []).join(' '));
  if ((i.CDISpecDirs ?? []).length) {
    ln(' CDI spec directories:');
    for (const d of i.CDISpecDirs) lines.push(`  ${d}`);
  }
  ln(' Swarm:', i.Swarm?.LocalNodeState ?? '');
  const state = i.Swarm?.LocalNodeState;
  if (state && state !== 'inactive' && state !== 'locked') {
    ln('  NodeID:', i.Swarm.NodeID);
    if (i.Swarm.Error) ln('  Error:', i.Swarm.Error);
    ln('  Is Manager:', !!i.Swarm.ControlAvailable);
    ln('  Node Address:', i.Swarm.NodeAddr);
  }
  const runtimes = Object.keys(i.Runtimes ?? {});
  if (runtimes.length) {
    ln(' Runtimes:', runtimes.join(' '));
    ln(' Default Runtime:', i.DefaultRuntime ?? '');
  }
  if (i.OSType === 'linux') {
    ln(' Init Binary:', i.InitBinary ?? '');
    ln(' containerd version:', i.ContainerdCommit?.ID ?? '');
    ln(' runc version:', i.RuncCommit?.ID ?? '');
    ln(' init version:', i.InitCommit?.ID ?? '');
    if ((i.SecurityOptions ?? []).length) {
      ln(' Security Options:');
      for (const so of i.SecurityOptions as string[]) {
        if (!so.includes('name=')) { lines.push('  ' + so); continue; }
        let name = '';
        const opts: [string, string][] = [];
        for (const kv of so.split(',')) {
          const eq = kv.indexOf('=');
          const k = kv.slice(0, eq), v = kv.slice(eq + 1);
          if (k === 'name') name = v; else opts.push([k, v]);
        }
        lines.push('  ' + name);
        for (const [k, v] of opts) if (k === 'profile') ln('   Profile:', v);
      }
    }
  }
  if (i.OSType === 'windows') ln(' Default Isolation:', i.Isolation ?? '');
  nonEmpty(' Kernel Version:', i.KernelVersion);
  nonEmpty(' Operating System:', i.OperatingSystem);
  nonEmpty(' OSType:', i.OSType);
  nonEmpty(' Architecture:', i.Architecture);
  ln(' CPUs:', i.NCPU ?? 0);
  ln(' Total Memory:', bytesSize(i.MemTotal ?? 0));
  nonEmpty(' Name:', i.Name);
  nonEmpty(' ID:', i.ID);
  ln(' Docker Root Dir:', i.DockerRootDir ?? '');
  ln(' Debug Mode:', !!i.Debug);
  if (i.Debug || ctx.debug) {
    ln('  File Descriptors:', i.NFd ?? 0);
    ln('  Goroutines:', i.NGoroutines ?? 0);
    ln('  System Time:', i.SystemTime ?? '');
    ln('  EventsListeners:', i.NEventsListener ?? 0);
  }
  nonEmpty(' HTTP Proxy:', i.HttpProxy);
  nonEmpty(' HTTPS Proxy:', i.HttpsProxy);
  nonEmpty(' No Proxy:', i.NoProxy);
  if ((i.Labels ?? []).length) {
    ln(' Labels:');
    for (const l of i.Labels) lines.push('  ' + l);
  }
  ln(' Experimental:', !!i.ExperimentalBuild);
  const rc = i.RegistryConfig;
  const index = Object.values(rc?.IndexConfigs ?? {}) as { Name: string; Secure: boolean }[];
  if (rc && ((rc.InsecureRegistryCIDRs ?? []).length || index.length)) {
    ln(' Insecure Registries:');
    for (const c of index) if (!c.Secure) lines.push('  ' + c.Name);
    for (const cidr of rc.InsecureRegistryCIDRs ?? []) lines.push('  ' + (typeof cidr === 'string' ? cidr : `${cidr.IP}/${cidr.Mask}`));
  }
  if ((rc?.Mirrors ?? []).length) {
    ln(' Registry Mirrors:');
    for (const m of rc.Mirrors) lines.push('  ' + m);
  }
  ln(' Live Restore Enabled:', !!i.LiveRestoreEnabled);
  if (i.ProductLicense) ln(' Product License:', i.ProductLicense);
  if ((i.DefaultAddressPools ?? []).length) {
    ln(' Default Address Pools:');
    for (const pool of i.DefaultAddressPools) lines.push(`   Base: ${pool.Base}, Size: ${pool.Size}`);
  }
  lines.push('');
  for (const w of i.Warnings ?? []) ctx.err(w + '\n');
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------------
// inspect

const ALL_TYPES = ['config', 'container', 'image', 'network', 'node', 'plugin', 'secret', 'service', 'task', 'volume'];

export type Getter = (ref: string) => Promise<string>;

function getters(ctx: Ctx, size: boolean): Record<string, Getter> {
  const c = ctx.client();
  const enc = encodeURIComponent;
  return {
    container: (r) => c.containerInspectRaw(r, size),
    image: (r) => c.imageInspectRaw(r),
    network: (r) => c.networkInspectRaw(r),
    volume: (r) => c.volumeInspectRaw(r),
    service: (r) => c.text('GET', `/services/${enc(r)}`, { query: { insertDefaults: 'true' } }),
    task: (r) => c.text('GET', `/tasks/${enc(r)}`),
    node: (r) => c.text('GET', `/nodes/${enc(r)}`),
    plugin: (r) => c.text('GET', `/plugins/${enc(r)}/json`),
    secret: (r) => c.text('GET', `/secrets/${enc(r)}`),
    config: (r) => c.text('GET', `/configs/${enc(r)}`),
  };
}

/** inspect.Inspect: raw JSON re-indented, compact with `json`, or one template line per element. */
export async function inspectRefs(ctx: Ctx, refs: string[], format: string, get: Getter): Promise<number> {
  let tmpl: Template | undefined;
  if (format !== '' && format !== 'json') {
    try {
      tmpl = new Template(format);
    } catch (err) {
      throw new StatusError(64, `template parsing error: ${(err as Error).message}`);
    }
  }
  const errs: string[] = [];
  const raws: string[] = [];
  let out = '';
  for (const ref of refs) {
    let raw: string;
    try {
      raw = await get(ref);
    } catch (err) {
      errs.push((err as Error).message);
      continue;
    }
    if (!tmpl) { raws.push(raw); continue; }
    try {
      out += tmpl.execute(JSON.parse(raw), { missingKey: 'structs' }) + '\n';
    } catch (err) {
      if (err instanceof TemplateError) errs.push(`template parsing error: ${err.message}`);
      else errs.push((err as Error).message);
    }
  }
  if (!tmpl) {
    if (raws.length === 0) out = '[]\n';
    else {
      const joined = '[' + raws.map((r) => r.trim()).join(',') + ']';
      out = (format === 'json' ? compactJson(joined) : indentJson(joined, '    ')) + '\n';
    }
  } else if (out === '') {
    out = '\n';
  }
  ctx.out(out);
  if (errs.length) throw new StatusError(1, errs.join('\n'));
  return 0;
}

const skippable = (err: unknown) => (err instanceof ApiError && err.status === 404) ||
  /not supported|invalid reference format/.test((err as Error).message);

function inspectCommand(): Cmd {
  const spec: CommandSpec = {
    path: 'inspect', use: '[OPTIONS] NAME|ID [NAME|ID...]', short: 'Return low-level information on berth objects',
    args: { min: 1 },
    flags: flagDefs([
      ['f', 'format', 'string', INSPECT_FORMAT_HELP],
      ['', 'type', 'string', 'Only inspect objects of the given type'],
      ['s', 'size', 'bool', 'Display total file sizes if the type is container'],
    ]),
  };
  return {
    spec,
    async run(ctx, p) {
      const type = p.str('type');
      const list = `"${ALL_TYPES.join('", "')}"`;
      if (p.has('type') && type === '') throw new StatusError(1, `type is empty: must be one of ${list}`);
      if (type !== '' && !ALL_TYPES.includes(type)) throw new StatusError(1, `unknown type: ${goJson(type)}: must be one of ${list}`);
      const size = p.bool('size');
      const g = getters(ctx, size);
      // berth has no swarm: without --type the swarm-only kinds are skipped like on a non-manager
      const order = type ? [type] : ['container', 'image', 'network', 'volume', 'plugin'];
      const get: Getter = async (ref) => {
        for (const t of order) {
          try {
            const raw = await g[t](ref);
            if (size && t !== 'container') ctx.err(`WARNING: --size ignored for ${t}\n`);
            return raw;
          } catch (err) {
            if (!type && skippable(err)) continue;
            throw err;
          }
        }
        throw new Error(`Error: No such object: ${ref}`);
      };
      return inspectRefs(ctx, p.args, p.str('format'), get);
    },
  };
}

function containerInspectCommand(): Cmd {
  return {
    spec: {
      path: 'container inspect', use: '[OPTIONS] CONTAINER [CONTAINER...]', short: 'Display detailed information on one or more containers',
      args: { min: 1 },
      flags: flagDefs([
        ['f', 'format', 'string', INSPECT_FORMAT_HELP],
        ['s', 'size', 'bool', 'Display total file sizes'],
      ]),
    },
    run: (ctx, p) => inspectRefs(ctx, p.args, p.str('format'), (r) => ctx.client().containerInspectRaw(r, p.bool('size'))),
  };
}

function imageInspectCommand(): Cmd {
  return {
    spec: {
      path: 'image inspect', use: '[OPTIONS] IMAGE [IMAGE...]', short: 'Display detailed information on one or more images',
      args: { min: 1 },
      flags: flagDefs([
        ['f', 'format', 'string', INSPECT_FORMAT_HELP],
        ['', 'platform', 'string', "Inspect a specific platform of the multi-platform image.\nIf the image or the server is not multi-platform capable, the command will error out if the platform does not match.\n'os[/arch[/variant]]': Explicit platform (eg. linux/amd64)"],
      ]),
    },
    run(ctx, p) {
      const platform = p.str('platform');
      const get: Getter = platform
        ? (r) => ctx.client().text('GET', `/images/${r}/json`, { query: { platform: JSON.stringify(platformJson(platform)) } })
        : (r) => ctx.client().imageInspectRaw(r);
      return inspectRefs(ctx, p.args, p.str('format'), get);
    },
  };
}

function platformJson(s: string): Record<string, string> {
  const [os, architecture, variant] = s.split('/');
  const o: Record<string, string> = { os };
  if (architecture) o.architecture = architecture;
  if (variant) o.variant = variant;
  return o;
}
