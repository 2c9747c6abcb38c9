// GET /system/df: what images, containers, volumes and the build cache hold on disk. Images and layers come from
// the image store's memory; containers' writable layers and volumes are measured on disk (docker does the same
// walks); the build cache is the classic builder's step index (build.ts).
import type { ApiServices } from '../services';
import { Router } from '../router';
import { invalidParameter } from '../../common/errors';
import { dirSize } from '../../common/dir-size';
import { listItem } from '../../engine/containers/views';
import { listImages } from '../../storage';
import { sharedSizes } from './images';
import { volumeView } from '../../engine/volumes/store';
import { buildCacheUsage } from './build';

const TYPES = ['container', 'image', 'volume', 'build-cache'];

export function diskUsageRoutes(r: Router, d: ApiServices): void {
  // POST /build/prune is in build.ts, with the cache it empties.
  r.add('GET', '/system/df', async (ctx) => {
    const types = ctx.query.getAll('type');
    for (const t of types) if (!TYPES.includes(t)) throw invalidParameter(`invalid type: ${t}`);
    const want = (t: string) => types.length === 0 || types.includes(t);
    const out: Record<string, unknown> = {};
    if (want('image')) {
      const containersOf = new Map<string, number>();
      for (const c of d.containers.store.all()) containersOf.set(c.Image, (containersOf.get(c.Image) ?? 0) + 1);
      const images = d.images.list();
      const used = new Set<string>();
      for (const img of images) for (const c of img.chainIds) used.add(c);
      let layersSize = 0;
      for (const c of used) layersSize += d.images.layerSize(c) ?? 0;
      out.LayersSize = layersSize;
      out.Images = listImages(images, {}, {
        get: (ref) => d.images.get(ref),
        containers: (id) => containersOf.get(id) ?? 0,
        sharedSize: sharedSizes(d.images),
      });
    }
    if (want('container')) {
      const records = d.containers.store.all().sort((a, b) => Date.parse(b.Created) - Date.parse(a.Created));
      out.Containers = await Promise.all(records.map(async (rec) => {
        const sizeRw = await dirSize(d.containers.paths.rootfs(rec.Id).upper);
        const imageSize = (rec.Layers ?? []).reduce((sum, c) => sum + (d.images.layerSize(c) ?? 0), 0);
        return { ...listItem(rec, d.network), SizeRw: sizeRw, SizeRootFs: sizeRw + imageSize };
      }));
    }
    if (want('volume')) {
      const v = d.volumes;
      out.Volumes = await Promise.all(v.list().map(async (vol) => volumeView(vol, v.dataPath(vol.Name), {
        Size: await v.size(vol.Name), RefCount: v.refsOf(vol.Name).length,
      })));
    }
    if (want('build-cache')) out.BuildCache = await buildCacheUsage(d);
    return out;
  });
}
