// Shapes of the Engine API bodies the client reads and writes (the fields berth uses; the daemon may send
// more, and inspect output passes the raw JSON through untouched).

export interface Port { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }

export interface MountPoint {
  Type?: string; Name?: string; Source?: string; Destination?: string; Driver?: string; Mode?: string; RW?: boolean;
  Propagation?: string;
}

export interface ContainerSummary {
  Id: string;
  Names?: string[];
  Image?: string;
  ImageID?: string;
  Command?: string;
  Created?: number;
  Ports?: Port[] | null;
  SizeRw?: number;
  SizeRootFs?: number;
  Labels?: Record<string, string> | null;
  State?: string;
  Status?: string;
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: { Networks?: Record<string, unknown> | null } | null;
  Mounts?: MountPoint[] | null;
}

export interface ImageSummary {
  Id: string;
  ParentId?: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Created?: number;
  Size?: number;
  SharedSize?: number;
  VirtualSize?: number;
  Labels?: Record<string, string> | null;
  Containers?: number;
}

export interface ContainerConfig {
  Hostname?: string; Domainname?: string; User?: string;
  AttachStdin?: boolean; AttachStdout?: boolean; AttachStderr?: boolean;
  ExposedPorts?: Record<string, object>;
  Tty?: boolean; OpenStdin?: boolean; StdinOnce?: boolean;
  Env?: string[] | null; Cmd?: string[] | null; Image?: string;
  Entrypoint?: string[] | null; WorkingDir?: string; Labels?: Record<string, string> | null;
  StopSignal?: string; StopTimeout?: number;
  [k: string]: unknown;
}

export interface ContainerInspect {
  Id: string;
  Name?: string;
  Image?: string;
  State?: {
    Status?: string; Running?: boolean; Paused?: boolean; Restarting?: boolean; ExitCode?: number; Pid?: number;
    StartedAt?: string; FinishedAt?: string;
  };
  Config?: ContainerConfig;
  HostConfig?: { AutoRemove?: boolean; [k: string]: unknown };
  [k: string]: unknown;
}

export interface CreateResponse { Id: string; Warnings?: string[] | null }

export interface WaitResponse { StatusCode: number; Error?: { Message?: string } | null }

export interface ExecInspect { ID?: string; Running?: boolean; ExitCode?: number | null; Pid?: number }

/** GET /containers/{id}/changes items: Kind 0 modified, 1 added, 2 deleted. */
export interface ContainerChange { Path: string; Kind: 0 | 1 | 2 }
/** The X-Docker-Container-Path-Stat header of HEAD/GET /containers/{id}/archive; mode is Go's os.FileMode. */
export interface ContainerPathStat { name: string; size: number; mode: number; mtime: string; linkTarget: string }

export interface TopResponse { Titles: string[]; Processes: string[][] }

export interface ImageDeleteItem { Untagged?: string; Deleted?: string }

export interface ImageHistoryItem { Id: string; Created: number; CreatedBy: string; Tags: string[] | null; Size: number; Comment: string }

export interface ImagesPruneReport { ImagesDeleted: ImageDeleteItem[] | null; SpaceReclaimed: number }

/** GET /networks entries (network.Summary); inspect keeps the daemon's raw JSON instead. */
export interface NetworkSummary {
  Name?: string; Id?: string; Created?: string; Scope?: string; Driver?: string;
  EnableIPv4?: boolean; EnableIPv6?: boolean; Internal?: boolean; Attachable?: boolean; Ingress?: boolean;
  ConfigOnly?: boolean; Labels?: Record<string, string> | null; Options?: Record<string, string> | null;
  [k: string]: unknown;
}

export interface NetworkCreateResponse { Id: string; Warning?: string }

export interface NetworksPruneReport { NetworksDeleted?: string[] | null }

/** A host binding of a container port (NetworkSettings.Ports values). */
export interface HostPortBinding { HostIp?: string; HostPort?: string }

export interface VolumeSummary {
  Name: string; Driver?: string; Mountpoint?: string; CreatedAt?: string; Scope?: string;
  Labels?: Record<string, string> | null; Options?: Record<string, string> | null;
  UsageData?: { Size: number; RefCount: number } | null; [k: string]: unknown;
}

export interface VolumeListResponse { Volumes?: VolumeSummary[] | null; Warnings?: string[] | null }

export interface VolumesPruneReport { VolumesDeleted?: string[] | null; SpaceReclaimed?: number }

export interface BuildCacheRecord { ID: string; Type?: string; Size: number; InUse?: boolean; Shared?: boolean; CreatedAt?: string; LastUsedAt?: string | null; UsageCount?: number }

export interface DiskUsage {
  LayersSize?: number;
  Images?: ImageSummary[] | null;
  Containers?: ContainerSummary[] | null;
  Volumes?: VolumeSummary[] | null;
  BuildCache?: BuildCacheRecord[] | null;
  BuilderSize?: number;
}

export interface VersionResponse {
  Platform?: { Name?: string };
  Components?: { Name: string; Version: string; Details?: Record<string, string> }[];
  Version?: string; ApiVersion?: string; MinAPIVersion?: string; GitCommit?: string; GoVersion?: string;
  Os?: string; Arch?: string; KernelVersion?: string; Experimental?: boolean; BuildTime?: string;
}

export interface JSONMessage {
  stream?: string;
  status?: string;
  progressDetail?: { current?: number; total?: number; start?: number; hidecounts?: boolean; units?: string };
  progress?: string;
  id?: string;
  from?: string;
  time?: number;
  timeNano?: number;
  errorDetail?: { code?: number; message?: string };
  error?: string;
  aux?: unknown;
}

/** Query values: arrays repeat the key; undefined/false-y optional values are left out by the caller. */
export type Query = Record<string, string | number | boolean | string[] | undefined>;

/** GET /containers/{id}/stats: the fields the CLI computes its table from. */
export interface StatsResponse {
  read?: string;
  preread?: string;
  name?: string;
  id?: string;
  pids_stats?: { current?: number; limit?: number };
  blkio_stats?: { io_service_bytes_recursive?: { major: number; minor: number; op: string; value: number }[] | null };
  cpu_stats?: StatsCpu;
  precpu_stats?: StatsCpu;
  memory_stats?: { usage?: number; max_usage?: number; stats?: Record<string, number>; failcnt?: number; limit?: number };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
}
export interface StatsCpu {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[]; usage_in_kernelmode?: number; usage_in_usermode?: number };
  system_cpu_usage?: number;
  online_cpus?: number;
}

/** POST /containers/{id}/update. */
export interface UpdateResponse { Warnings?: string[] | null }
