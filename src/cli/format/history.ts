// docker/cli's history formatter: `history` rows (ID, CreatedSince, CreatedAt, CreatedBy, Size, Comment),
// human or raw sizes and dates, 45-column CREATED BY unless --no-trunc.
import { TABLE, ellipsis, headerContext, truncateId } from './formatter';
import { humanDuration, humanSizeWithPrecision, rfc3339Local } from './units';
import type { ImageHistoryItem } from '../../client/types';

export class HistoryContext {
  get goType(): string { return '*image.historyContext'; }
  constructor(private h: ImageHistoryItem, private trunc: boolean, private human: boolean, private now: number = Date.now()) {}

  ID(): string { return this.trunc ? truncateId(this.h.Id) : this.h.Id; }
  CreatedAt(): string { return rfc3339Local(this.h.Created * 1000); }
  CreatedSince(): string {
    if (!this.human) return this.CreatedAt();
    return humanDuration(this.now - this.h.Created * 1000) + ' ago';
  }
  CreatedBy(): string {
    const createdBy = (this.h.CreatedBy ?? '').replace(/\t/g, ' ');
    return this.trunc ? ellipsis(createdBy, 45) : createdBy;
  }
  Size(): string { return this.human ? humanSizeWithPrecision(this.h.Size, 3) : String(this.h.Size); }
  Comment(): string { return this.h.Comment ?? ''; }
  toJSON(): Record<string, unknown> {
    return {
      Comment: this.Comment(), CreatedAt: this.CreatedAt(), CreatedBy: this.CreatedBy(), CreatedSince: this.CreatedSince(),
      ID: this.ID(), Size: this.Size(),
    };
  }
}

export const historyHeaders = headerContext({
  ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT',
});

/** NewHistoryFormat. */
export function historyFormat(source: string, quiet: boolean, human: boolean): string {
  if (source === TABLE) {
    if (quiet) return '{{.ID}}';
    return human
      ? 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}'
      : 'table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
  }
  return source;
}
