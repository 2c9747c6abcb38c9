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
  /** the image's layer chain ids, so the container still starts after `rmi -f` of its image */
  Layers?: string[];
  /** set when the user asked to stop/kill, so restart policies know it was deliberate. */
  StoppedByUser?: boolean;
}
