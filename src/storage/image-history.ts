// GET /images/{name}/history: the config's history entries, newest first, as moby's classic store answers
// (daemon/images image_history.go): each non-empty entry is sized by its layer, the top entry carries the
// image id and tags, entries below carry the ids of local parent images while those exist, "<missing>" after.
import { EngineError } from '../common/errors';
import { chainIds } from './digest';
import type { ImageRecord } from './images';

export interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export interface HistoryContext {
  /** Bytes of file content in the layer with this chain id. */
  layerSize(chainId: string): number | undefined;
  /** A local image by id (the parent chain). */
  image(id: string): ImageRecord | undefined;
}

export function imageHistory(img: ImageRecord, ctx: HistoryContext): HistoryItem[] {
  const diffIds = img.config.rootfs.diff_ids;
  const chains = chainIds(diffIds);
  const items: HistoryItem[] = [];
  let layer = 0;
  for (const h of img.config.history ?? []) {
    let size = 0;
    if (!h.empty_layer) {
      if (layer >= diffIds.length) throw new EngineError(500, 'too many non-empty layers in History section');
      size = ctx.layerSize(chains[layer]) ?? 0;
      layer++;
    }
    const ms = h.created ? Date.parse(h.created) : NaN;
    items.unshift({
      Id: '<missing>',
      Created: Number.isFinite(ms) ? Math.floor(ms / 1000) : 0,
      CreatedBy: h.created_by ?? '',
      Tags: null,
      Size: size,
      Comment: h.comment ?? '',
    });
  }
  let current: ImageRecord | undefined = img;
  for (const item of items) {
    if (!current) break;
    item.Id = current.id;
    item.Tags = current.repoTags.length ? [...current.repoTags] : null;
    current = current.parent ? ctx.image(current.parent) : undefined;
  }
  return items;
}
