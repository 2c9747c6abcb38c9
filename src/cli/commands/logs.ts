// `logs`: inspect (for the id and the TTY flag), then GET /containers/{id}/logs; a non-TTY body is
// stdcopy-framed and goes to stdout/stderr, a TTY body is raw.
import { StatusError, flagDefs } from '../command';
import type { Cmd } from '../cmd';
import { getTimestamp } from '../format/units';
import { StdcopyDemuxer } from '../../client/stdcopy';
import { write } from '../stdio';

export function command(id: string): Cmd {
  return {
    spec: {
      path: id === 'logs' ? 'logs' : 'container logs',
      use: '[OPTIONS] CONTAINER',
      short: 'Fetch the logs of a container',
      aliases: 'berth container logs, berth logs',
      args: { exact: 1 },
      flags: flagDefs([
        ['f', 'follow', 'bool', 'Follow log output'],
        ['', 'since', 'string', 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)'],
        ['', 'until', 'string', 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)'],
        ['t', 'timestamps', 'bool', 'Show timestamps'],
        ['', 'details', 'bool', 'Show extra details provided to logs'],
        ['n', 'tail', 'string', 'Number of lines to show from the end of the logs', '"all"'],
      ]),
    },
    async run(ctx, p) {
      const client = ctx.client();
      const c = await client.containerInspect(p.args[0]);
      const ts = (flag: string) => {
        const v = p.str(flag);
        if (!v) return undefined;
        try {
          return getTimestamp(v);
        } catch (err) {
          throw new StatusError(1, `invalid value for "${flag}": ${(err as Error).message}`);
        }
      };
      const res = await client.containerLogs(c.Id, {
        stdout: '1', stderr: '1',
        since: ts('since'), until: ts('until'),
        timestamps: p.bool('timestamps') ? '1' : undefined,
        details: p.bool('details') ? '1' : undefined,
        follow: p.bool('follow') ? '1' : undefined,
        tail: p.str('tail', 'all'),
      });
      const tty = !!c.Config?.Tty;
      const demux = tty ? null : new StdcopyDemuxer((b) => write(1, b), (b) => write(2, b));
      await new Promise<void>((resolve, reject) => {
        res.on('data', (chunk: Buffer) => {
          if (!demux) { write(1, chunk); return; }
          try { demux.push(chunk); } catch (err) { res.destroy(); reject(err); }
        });
        res.on('end', resolve);
        res.on('error', reject);
        res.on('close', resolve);
      });
      return 0;
    },
  };
}
