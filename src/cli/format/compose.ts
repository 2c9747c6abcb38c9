// `compose ps`, `compose images` and `compose ls` rows in Docker Compose v2's shapes: the ps table (NAME IMAGE
// COMMAND SERVICE CREATED STATUS PORTS), its --format fields and JSON lines, the images and ls tables.
import { headerContext, displayablePorts, goQuote, ellipsis, truncateId } from './formatter';
import { humanDuration, humanSizeWithPrecision, goTimeString } from './units';
import type { ContainerSummary } from '../../client/types';

const P = 'com.docker.compose.project';
const S = 'com.docker.compose.service';

export class ComposeContainerContext {
  get goType(): string { return '*formatter.ContainerContext'; }
  constructor(private c: ContainerSummary, private trunc: boolean, private health = '', private exitCode = 0, private now = Date.now()) {}

  ID(): string { return this.trunc ? truncateId(this.c.Id) : this.c.Id; }
  Name(): string { return (this.c.Names?.[0] ?? '').replace(/^\//, ''); }
  Names(): string { return (this.c.Names ?? []).map((n) => n.replace(/^\//, '')).join(','); }
  Project(): string { return this.c.Labels?.[P] ?? ''; }
  Service(): string { return this.c.Labels?.[S] ?? ''; }
  Image(): string { return this.c.Image ?? ''; }
  Command(): string { const cmd = this.c.Command ?? ''; return goQuote(this.trunc ? ellipsis(cmd, 20) : cmd); }
  CreatedAt(): string { return goTimeString(this.c.Created ?? 0); }
  RunningFor(): string { return humanDuration(this.now - (this.c.Created ?? 0) * 1000) + ' ago'; }
  ExitCode(): number { return this.exitCode; }
  State(): string { return this.c.State ?? ''; }
  Status(): string { return this.c.Status ?? ''; }
  Health(): string { return this.health; }
  Ports(): string { return displayablePorts(this.c.Ports); }
  Publishers(): Array<{ URL: string; TargetPort: number; PublishedPort: number; Protocol: string }> {
    return (this.c.Ports ?? []).map((p) => ({ URL: p.IP ?? '', TargetPort: p.PrivatePort, PublishedPort: p.PublicPort ?? 0, Protocol: p.Type }));
  }
  Labels(): string {
    const l = this.c.Labels ?? {};
    return Object.keys(l).map((k) => `${k}=${l[k]}`).join(',');
  }
  Label(name: string): string { return this.c.Labels?.[name] ?? ''; }
  Mounts(): string { return (this.c.Mounts ?? []).map((m) => (m.Name || m.Source || '')).map((n) => (this.trunc ? ellipsis(n, 15) : n)).join(','); }
  LocalVolumes(): string { return String((this.c.Mounts ?? []).filter((m) => m.Driver === 'local').length); }
  Networks(): string { return Object.keys(this.c.NetworkSettings?.Networks ?? {}).join(','); }
  Size(): string {
    const srw = humanSizeWithPrecision(this.c.SizeRw ?? 0, 3);
    return (this.c.SizeRootFs ?? 0) > 0 ? `${srw} (virtual ${humanSizeWithPrecision(this.c.SizeRootFs ?? 0, 3)})` : srw;
  }
  /** formatter.MarshalJSON: the zero-argument fields, keys sorted. */
  toJSON(): Record<string, unknown> {
    return {
      Command: this.Command(), CreatedAt: this.CreatedAt(), ExitCode: this.ExitCode(), Health: this.Health(), ID: this.ID(),
      Image: this.Image(), Labels: this.Labels(), LocalVolumes: this.LocalVolumes(), Mounts: this.Mounts(), Name: this.Name(),
      Names: this.Names(), Networks: this.Networks(), Ports: this.Ports(), Project: this.Project(), Publishers: this.Publishers(),
      RunningFor: this.RunningFor(), Service: this.Service(), Size: this.Size(), State: this.State(), Status: this.Status(),
    };
  }
}

export const composeContainerHeaders = headerContext({
  ID: 'CONTAINER ID', Name: 'NAME', Names: 'NAMES', Project: 'PROJECT', Service: 'SERVICE', Image: 'IMAGE', Command: 'COMMAND',
  CreatedAt: 'CREATED AT', RunningFor: 'CREATED', Ports: 'PORTS', State: 'STATE', Status: 'STATUS', Size: 'SIZE', Labels: 'LABELS',
  Health: 'HEALTH', ExitCode: 'EXIT CODE', Mounts: 'MOUNTS', LocalVolumes: 'LOCAL VOLUMES', Networks: 'NETWORKS', Publishers: 'PUBLISHERS',
});

export const DEFAULT_COMPOSE_PS = 'table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}';

/** compose's NewContainerFormat: table/json/custom, -q. */
export function composePsFormat(source: string, quiet: boolean): string {
  if (quiet) return '{{.ID}}';
  if (source === '' || source === 'table') return DEFAULT_COMPOSE_PS;
  return source;
}

/** Left-aligned columns separated by three spaces (the tabwriter of compose's pretty sections). */
export function prettyTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] + 3))).join('').replace(/\s+$/, '') + '\n';
  return line(headers) + rows.map(line).join('');
}

export interface ImageRow { container: string; repository: string; tag: string; id: string; size: number }

export function imagesTable(rows: ImageRow[]): string {
  return prettyTable(['CONTAINER', 'REPOSITORY', 'TAG', 'IMAGE ID', 'SIZE'],
    rows.map((r) => [r.container, r.repository, r.tag, truncateId(r.id), humanSizeWithPrecision(r.size, 3)]));
}

export function ago(now: number, created: number): string { return humanDuration(now - created * 1000) + ' ago'; }
