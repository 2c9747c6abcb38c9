// The canonical compose model (after loading and normalising): the shapes `config` prints and the planner reads.
// Only the fields compose acts on are typed; the rest pass through as read.

export interface PortConfig {
  name?: string;
  mode: string;
  host_ip?: string;
  target: number;
  /** A port or a range, as a string (compose prints `published: "8080"`). */
  published?: string;
  protocol: string;
  app_protocol?: string;
}

export interface VolumeMount {
  type: 'volume' | 'bind' | 'tmpfs' | 'npipe' | 'cluster' | 'image';
  source?: string;
  target: string;
  read_only?: boolean;
  consistency?: string;
  bind?: { propagation?: string; create_host_path?: boolean; selinux?: string };
  volume?: { nocopy?: boolean; subpath?: string; labels?: Record<string, string> };
  tmpfs?: { size?: number | string; mode?: number };
}

export interface DependsOn { condition: 'service_started' | 'service_healthy' | 'service_completed_successfully'; required: boolean; restart?: boolean }

export interface ServiceNetwork { aliases?: string[]; ipv4_address?: string; ipv6_address?: string; priority?: number; mac_address?: string }

export interface Healthcheck {
  test?: string[]; interval?: string; timeout?: string; retries?: number; start_period?: string; start_interval?: string; disable?: boolean;
}

export interface BuildConfig {
  context: string; dockerfile?: string; dockerfile_inline?: string; args?: Record<string, string | null>; target?: string;
  labels?: Record<string, string | null>; tags?: string[]; network?: string; no_cache?: boolean; pull?: boolean; platforms?: string[];
  [k: string]: unknown;
}

export interface ServiceConfig {
  image?: string;
  build?: BuildConfig;
  command?: string[] | null;
  entrypoint?: string[] | null;
  environment?: Record<string, string | null>;
  ports?: PortConfig[];
  volumes?: VolumeMount[];
  tmpfs?: string[];
  networks?: Record<string, ServiceNetwork | null>;
  network_mode?: string;
  depends_on?: Record<string, DependsOn>;
  healthcheck?: Healthcheck;
  restart?: string;
  deploy?: {
    replicas?: number;
    resources?: { limits?: { cpus?: string | number; memory?: string; pids?: number }; reservations?: { cpus?: string | number; memory?: string } };
    restart_policy?: { condition?: string; max_attempts?: number; delay?: string };
    labels?: Record<string, string | null>;
    [k: string]: unknown;
  };
  scale?: number;
  container_name?: string;
  hostname?: string;
  domainname?: string;
  user?: string;
  working_dir?: string;
  init?: boolean;
  labels?: Record<string, string | null>;
  cap_add?: string[];
  cap_drop?: string[];
  privileged?: boolean;
  read_only?: boolean;
  stop_signal?: string;
  stop_grace_period?: string;
  ulimits?: Record<string, { soft: number; hard: number } | number>;
  extra_hosts?: string[];
  dns?: string[];
  dns_search?: string[];
  dns_opt?: string[];
  secrets?: Array<{ source: string; target?: string; uid?: string; gid?: string; mode?: number | string }>;
  configs?: Array<{ source: string; target?: string; uid?: string; gid?: string; mode?: number | string }>;
  pull_policy?: string;
  logging?: { driver?: string; options?: Record<string, string | null> };
  profiles?: string[];
  tty?: boolean;
  stdin_open?: boolean;
  expose?: string[];
  shm_size?: string | number;
  mem_limit?: string | number;
  cpus?: number | string;
  pids_limit?: number;
  sysctls?: Record<string, string | null>;
  security_opt?: string[];
  platform?: string;
  attach?: boolean;
  [k: string]: unknown;
}

export interface Project {
  name: string;
  workingDir: string;
  services: Record<string, ServiceConfig>;
  /** Services switched off by profiles (kept to explain a dependency on one). */
  disabled: Record<string, ServiceConfig>;
  networks: Record<string, Record<string, unknown>>;
  volumes: Record<string, Record<string, unknown>>;
  secrets: Record<string, Record<string, unknown>>;
  configs: Record<string, Record<string, unknown>>;
  extensions?: Record<string, unknown>;
  /** Absolute paths of the files loaded (in order). */
  configFiles?: string[];
  /** Env files used for interpolation (the --env-file list or the project's .env). */
  envFiles?: string[];
  /** The variables interpolation used (the process env over the env files). */
  environment?: Record<string, string>;
}
