// GetContainerEvents: container lifecycle events (created, started, stopped, deleted) for every subscriber.
import { EventEmitter } from 'events';
import { ContainerEventType } from './types';
import { nowNs as hostNowNs } from '../runtime';

export interface ContainerEvent {
  container_id: string;
  container_event_type: ContainerEventType;
  created_at: string;
  pod_sandbox_status: unknown;
  containers_statuses: unknown[];
}

export class CriEvents extends EventEmitter {
  constructor() {
    super();
    this.setMaxListeners(0); // one listener per GetContainerEvents stream
  }

  emitEvent(ev: ContainerEvent): void { this.emit('event', ev); }

  subscribe(fn: (ev: ContainerEvent) => void): () => void {
    this.on('event', fn);
    return () => this.off('event', fn);
  }
}

/** Nanoseconds since the epoch as int64 text (JavaScript numbers cannot hold them exactly). */
export const nowNs = (): string => hostNowNs().toString();
