// container prune and system prune: docker's warnings, prompts and reports. system prune runs the per-kind prunes
// in docker's order (containers, networks, volumes when asked, images) and adds up the reclaimed space.
import { CommandSpec, flagDefs } from '../command';
import type { Cmd, Ctx } from '../cmd';
import { humanSize } from '../format/units';
import { confirm, filtersJson } from './util';

interface ContainersPruneReport { ContainersDeleted?: string[] | null; SpaceReclaimed?: number }
interface VolumesPruneReport { VolumesDeleted?: string[] | null; SpaceReclaimed?: number }

const FILTER = ['', 'filter', 'filter', 'Provide filter values (e.g. "until=<timestamp>")'] as const;

async function pruneContainers(ctx: Ctx, filters: string[]): Promise<{ text: string; space: number }> {
  const r = await ctx.client().json<ContainersPruneReport>('POST', '/containers/prune', { query: { filters: filtersJson(filters) } });
  const ids = r?.ContainersDeleted ?? [];
  return { text: ids.length ? `Deleted Containers:\n${ids.map((i) => i + '\n').join('')}\n` : '', space: r?.SpaceReclaimed ?? 0 };
}

async function pruneNetworks(ctx: Ctx, filters: string[]): Promise<string> {
  const r = await ctx.client().networksPrune(filtersJson(filters));
  const names = r?.NetworksDeleted ?? [];
  return names.length ? `Deleted Networks:\n${names.map((n) => n + '\n').join('')}\n` : '';
}

async function pruneVolumes(ctx: Ctx, filters: string[], all: boolean): Promise<{ text: string; space: number }> {
  const r = await ctx.client().json<VolumesPruneReport>('POST', '/volumes/prune', { query: { filters: filtersJson(all ? [...filters, 'all=true'] : filters) } });
  const names = r?.VolumesDeleted ?? [];
  return { text: names.length ? `Deleted Volumes:\n${names.map((n) => n + '\n').join('')}\n` : '', space: r?.SpaceReclaimed ?? 0 };
}

/** POST /images/prune and docker's "Deleted Images:" report (image prune and system prune print the same). */
export async function pruneImages(ctx: Ctx, filters: string[], all: boolean): Promise<{ text: string; space: number }> {
  const r = await ctx.client().imagesPrune(filtersJson([...filters, `dangling=${all ? 'false' : 'true'}`]));
  let text = '';
  const deleted = r?.ImagesDeleted ?? [];
  if (deleted.length) {
    text += 'Deleted Images:\n';
    for (const d of deleted) {
      if (d.Untagged) text += `untagged: ${d.Untagged}\n`;
      if (d.Deleted) text += `deleted: ${d.Deleted}\n`;
    }
    text += '\n';
  }
  return { text, space: r?.SpaceReclaimed ?? 0 };
}

function containerPrune(id: string): Cmd {
  const spec: CommandSpec = {
    path: id, use: '[OPTIONS]', short: 'Remove all stopped containers', args: 'none',
    flags: flagDefs([[...FILTER], ['f', 'force', 'bool', 'Do not prompt for confirmation']]),
  };
  return {
    spec,
    async run(ctx, p) {
      if (!p.bool('force') && !(await confirm(ctx, 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue?'))) return 0;
      const { text, space } = await pruneContainers(ctx, p.list('filter'));
      ctx.out(`${text}Total reclaimed space: ${humanSize(space)}\n`);
      return 0;
    },
  };
}

function systemPrune(id: string): Cmd {
  const spec: CommandSpec = {
    path: id, use: '[OPTIONS]', short: 'Remove unused data', args: 'none',
    flags: flagDefs([
      ['a', 'all', 'bool', 'Remove all unused images not just dangling ones'],
      [...FILTER],
      ['f', 'force', 'bool', 'Do not prompt for confirmation'],
      ['', 'volumes', 'bool', 'Prune anonymous volumes'],
    ]),
  };
  return {
    spec,
    async run(ctx, p) {
      const all = p.bool('all');
      const volumes = p.bool('volumes');
      const filters = p.list('filter');
      const items = [
        'all stopped containers',
        'all networks not used by at least one container',
        ...(volumes ? ['all anonymous volumes not used by at least one container'] : []),
        all ? 'all images without at least one container associated to them' : 'all dangling images',
        all ? 'all build cache' : 'unused build cache',
      ];
      const warning = `WARNING! This will remove:\n${items.map((i) => `  - ${i}\n`).join('')}\nAre you sure you want to continue?`;
      if (!p.bool('force') && !(await confirm(ctx, warning))) return 0;
      let space = 0;
      const c = await pruneContainers(ctx, filters);
      space += c.space;
      ctx.out(c.text);
      ctx.out(await pruneNetworks(ctx, filters));
      if (volumes) {
        const v = await pruneVolumes(ctx, filters.filter((f) => !f.startsWith('until=')), false);
        space += v.space;
        ctx.out(v.text);
      }
      const i = await pruneImages(ctx, filters, all);
      space += i.space;
      ctx.out(i.text);
      ctx.out(`Total reclaimed space: ${humanSize(space)}\n`);
      return 0;
    },
  };
}

export function command(id: string): Cmd {
  return id === 'system prune' ? systemPrune(id) : containerPrune(id);
}
