// Docker-shaped events ({Type, Action, Actor{ID, Attributes}, scope, time, timeNano}) fanned out to
// /events subscribers, with a short in-memory history for `since`.
import { EventEmitter } from 'events';

export interface EngineEvent {
  Type: string; Action: string; Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local'; time: number; timeNano: number;
  status?: string; id?: string; from?: string;
}

const HISTORY = 1000;

export class EventBus extends EventEmitter {
  readonly history: EngineEvent[] = [];

  emitEvent(type: string, action: string, id: string, attributes: Record<string, string> = {}): void {
    const nowNs = BigInt(Date.now()) * 1_000_000n + process.hrtime.bigint() % 1_000_000n;
    const ev: EngineEvent = {
      Type: type, Action: action, Actor: { ID: id, Attributes: attributes }, scope: 'local',
      time: Number(nowNs / 1_000_000_000n), timeNano: Number(nowNs),
    };
    // Older clients read the legacy top-level fields for containers and images.
    if (type === 'container' || type === 'image') Object.assign(ev, { status: action, id, ...(attributes.image ? { from: attributes.image } : {}) });
    this.history.push(ev);
    if (this.history.length > HISTORY) this.history.shift();
    this.emit('event', ev);
  }
}
