// What the routes are given: the daemon's engine parts and facts, as a type below both the routes and
// daemon/daemon.ts (which implements it), so routes never import the daemon that wires them.
import type { EventBus } from '../engine/events';
import type { ContainerEngine } from '../engine/containers/engine';
import type { ExecEngine } from '../engine/exec/exec';
import type { VolumeStore } from '../engine/volumes/store';
import type { ImageStore } from '../storage/images';
import type { NetworkManager } from '../network';

export interface ApiServices {
  /** the engine's ID (info) */
  readonly id: string;
  readonly events: EventBus;
  readonly images: ImageStore;
  readonly network: NetworkManager;
  readonly volumes: VolumeStore;
  readonly containers: ContainerEngine;
  readonly execs: ExecEngine;
  /** the default OCI runtime and every usable one (info, version) */
  readonly runtime: { name: string };
  readonly runtimes: ReadonlyArray<{ name: string; path: string }>;
  readonly warnings: string[];
  readonly cgroupVersion: string;
  readonly osName: string;
  readonly osVersion: string;
  readonly storageDriver: string;
  readonly options: { readonly dataRoot: string; readonly insecureRegistries?: string[] };
  /** set when the daemon runs rootless: what info reports differently */
  readonly rootless?: { readonly limitsUnavailable?: string; readonly securityOptions: string[] };
}
