// The container record the engine keeps and persists (config.v2.json), in Docker's own field names
// where the API exposes them, so inspect is a projection rather than a translation.
import type { Attachment, EndpointRequest } from '../../network';
import type { HealthConfig } from '../../storage/image-config';

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerState {
  Status: ContainerStatus;
  Pid: number;
  ExitCode: number;
  Error: string;
  OOMKilled: boolean;
  StartedAt: string;
  FinishedAt: string;
  /** only for containers with a healthcheck */
  Health?: HealthState;
}

export type { HealthConfig } from '../../storage/image-config';

export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: Array<{ Start: string; End: string; ExitCode: number; Output: string }>;
}

/** The Config part of a create request (Docker's ContainerConfig), after merging the image's defaults. */
export interface ContainerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, object>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[];
  Cmd: string[] | null;
  Image: string;
  Volumes?: Record<string, object> | null;
  WorkingDir: string;
  Entrypoint: string[] | null;
  OnBuild?: string[] | null;
  Labels: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
  Healthcheck?: HealthConfig;
}

export interface PortBindingSpec { HostIp?: string; HostPort?: string }

export interface HostConfig {
  NetworkMode: string;
  PortBindings: Record<string, PortBindingSpec[] | null>;
  PublishAllPorts: boolean;
  AutoRemove: boolean;
  RestartPolicy: { Name: string; MaximumRetryCount: number };
  Runtime: string;
  Privileged: boolean;
  CapAdd: string[] | null;
  CapDrop: string[] | null;
  Init?: boolean | null;
  ReadonlyRootfs: boolean;
  ShmSize: number;
  Ulimits?: Array<{ Name: string; Soft: number; Hard: number }> | null;
  Sysctls?: Record<string, string> | null;
  ExtraHosts?: string[] | null;
  Dns?: string[] | null;
  [key: string]: unknown;
}

/**
 * A mount of the container (volume, bind or tmpfs from --mount), as inspect's Mounts shows it plus what the
 * engine needs at start. --tmpfs mounts are not here: they stay in HostConfig.Tmpfs, as in docker.
 */
export interface MountPoint {
  Type: 'volume' | 'bind' | 'tmpfs';
  Destination: string;
  /** host path: a bind's source, a volume's _data directory; '' for tmpfs */
  Source: string;
  /** the volume's name */
  Name?: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
  /** copy what the image has at Destination into the volume at the next start, if the volume is empty */
  CopyData?: boolean;
  /** the user named no volume: `rm -v` and `--rm` remove it */
  Anonymous?: boolean;
  /** a missing bind source is created at start (-v, or --mount with bind-create-mountpoint) */
  CreateSource?: boolean;
  /** a --mount bind source must exist when the container is created */
  MustExist?: boolean;
  NonRecursive?: boolean;
  ReadOnlyNonRecursive?: boolean;
  /** the part of the volume mounted (--mount volume-subpath) */
  Subpath?: string;
  /** tmpfs mount data (size=…, mode=…, ro) */
  Data?: string;
}

export interface ContainerRecord {
  Id: string;
  Name: string; // with the leading "/"
  Created: string;
  Path: string;
  Args: string[];
  Image: string; // the image id, sha256:…
  ImageRef: string; // as the user named it (ps's IMAGE column)
  Config: ContainerConfig;
  HostConfig: HostConfig;
  State: ContainerState;
  RestartCount: number;
  Runtime: string;
  Network?: Attachment;
  /** the networks the container joins at start, primary (HostConfig.NetworkMode) first, with aliases and --ip */
  Networks?: EndpointRequest[];
  /** volumes, binds and --mount tmpfs mounts, decided at create */
  MountPoints?: MountPoint[];
  /** the image's layer chain ids, so the container still starts after `rmi -f` of its image */
  Layers?: string[];
  /** a container the daemon made for its own work (a build step): removed at the next start if the daemon died
   * before it did (fault "SIGKILL during a build"), whatever its state */
  Transient?: boolean;
  /** set when the user asked to stop/kill, so restart policies know it was deliberate. */
  StoppedByUser?: boolean;
}
