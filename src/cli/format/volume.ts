// `volume ls` rows: the fields its --format offers (Name, Driver, Scope, Mountpoint, Labels, Label, Links, Size and
// the cluster-only Group, Availability, Status), docker's column headers and its table/raw defaults.
import { TABLE, headerContext } from './formatter';
import { humanSize } from './units';
import type { VolumeSummary } from '../../client/types';

/** One volume as templates see it (methods, so `{{json .}}` and `.Label "k"` work like docker's). */
export class VolumeRow {
  get goType(): string { return '*formatter.volumeContext'; }
  constructor(private readonly _v: VolumeSummary) {}

  Name(): string { return this._v.Name; }
  Driver(): string { return this._v.Driver ?? ''; }
  Scope(): string { return this._v.Scope ?? ''; }
  Mountpoint(): string { return this._v.Mountpoint ?? ''; }
  /** docker joins a Go map here (random order); sorted keys give the same set, reproducibly. */
  Labels(): string {
    const l = this._v.Labels;
    if (!l) return '';
    return Object.keys(l).sort().map((k) => `${k}=${l[k]}`).join(',');
  }
  Label(name: string): string { return this._v.Labels?.[name] ?? ''; }
  Links(): string { return this._v.UsageData ? String(this._v.UsageData.RefCount) : 'N/A'; }
  Size(): string { return this._v.UsageData ? humanSize(this._v.UsageData.Size) : 'N/A'; }
  // cluster (swarm) volumes only: berth has none
  Group(): string { return 'N/A'; }
  Availability(): string { return 'N/A'; }
  Status(): string { return 'N/A'; }
  /** formatter.MarshalJSON: every zero-argument method, keys sorted. */
  toJSON(): Record<string, string> {
    return {
      Availability: this.Availability(), Driver: this.Driver(), Group: this.Group(), Labels: this.Labels(), Links: this.Links(),
      Mountpoint: this.Mountpoint(), Name: this.Name(), Scope: this.Scope(), Size: this.Size(), Status: this.Status(),
    };
  }
}

export const volumeHeaders = headerContext({
  ID: 'ID', Name: 'VOLUME NAME', Group: 'GROUP', Driver: 'DRIVER', Scope: 'SCOPE', Availability: 'AVAILABILITY',
  Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Links: 'LINKS', Size: 'SIZE', Status: 'STATUS',
});

/** The format `volume ls` renders: table and raw have defaults; any other --format is used as given. */
export function volumeFormat(source: string, quiet: boolean): string {
  if (source === TABLE) return quiet ? '{{.Name}}' : 'table {{.Driver}}\t{{.Name}}';
  if (source === 'raw') return quiet ? 'name: {{.Name}}' : 'name: {{.Name}}\ndriver: {{.Driver}}\n';
  return source;
}
