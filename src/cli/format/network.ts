// `network ls` rows: the fields its --format offers (ID, Name, Driver, Scope, IPv4, IPv6, Internal, Labels,
// Label, CreatedAt), docker's column headers and its table/raw defaults.
import { TABLE, headerContext, truncateId } from './formatter';
import { goTimeStringRfc3339 } from './units';
import type { NetworkSummary } from '../../client/types';

/** One network as templates see it (methods, so `{{json .}}` and `.Label "k"` work like docker's). */
export class NetworkContext {
  get goType(): string { return '*network.networkContext'; }
  constructor(private readonly _n: NetworkSummary, private readonly _trunc: boolean) {}

  ID(): string { return this._trunc ? truncateId(this._n.Id ?? '') : this._n.Id ?? ''; }
  Name(): string { return this._n.Name ?? ''; }
  Driver(): string { return this._n.Driver ?? ''; }
  Scope(): string { return this._n.Scope ?? ''; }
  IPv4(): string { return String(!!this._n.EnableIPv4); }
  IPv6(): string { return String(!!this._n.EnableIPv6); }
  Internal(): string { return String(!!this._n.Internal); }
  /** docker joins a Go map here (random order); sorted keys give the same set, reproducibly. */
  Labels(): string {
    const l = this._n.Labels;
    if (!l) return '';
    return Object.keys(l).sort().map((k) => `${k}=${l[k]}`).join(',');
  }
  Label(name: string): string { return this._n.Labels?.[name] ?? ''; }
  CreatedAt(): string { return goTimeStringRfc3339(this._n.Created); }
  /** formatter.MarshalJSON: every zero-argument method, keys sorted. */
  toJSON(): Record<string, string> {
    return {
      CreatedAt: this.CreatedAt(), Driver: this.Driver(), ID: this.ID(), IPv4: this.IPv4(), IPv6: this.IPv6(),
      Internal: this.Internal(), Labels: this.Labels(), Name: this.Name(), Scope: this.Scope(),
    };
  }
}

export const networkHeaders = headerContext({
  ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv4: 'IPV4', IPv6: 'IPV6', Internal: 'INTERNAL',
  Labels: 'LABELS', CreatedAt: 'CREATED AT',
});

/** The format `network ls` renders: table and raw have defaults; any other --format is used as given. */
export function networkFormat(source: string, quiet: boolean): string {
  if (source === TABLE) return quiet ? '{{.ID}}' : 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';
  if (source === 'raw') {
    return quiet ? 'network_id: {{.ID}}' : 'network_id: {{.ID}}\nname: {{.Name}}\ndriver: {{.Driver}}\nscope: {{.Scope}}\n';
  }
  return source;
}
