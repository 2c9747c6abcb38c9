// The CRI runtime.v1 messages berth reads and writes, as @grpc/proto-loader hands them over (keepCase: the
// proto's snake_case names; defaults: absent scalars are '', 0, false, [] and absent messages null).
// Only the fields berth uses are typed; runtime-v1.proto is the whole protocol.

export enum NamespaceMode { POD = 0, CONTAINER = 1, NODE = 2, TARGET = 3 }
export enum Propagation { PRIVATE = 0, HOST_TO_CONTAINER = 1, BIDIRECTIONAL = 2 }
export enum ProfileType { RuntimeDefault = 0, Unconfined = 1, Localhost = 2 }
export enum PodState { READY = 0, NOTREADY = 1 }
export enum ContainerState { CREATED = 0, RUNNING = 1, EXITED = 2, UNKNOWN = 3 }
export enum ContainerEventType { CREATED = 0, STARTED = 1, STOPPED = 2, DELETED = 3 }
export enum Protocol { TCP = 0, UDP = 1, SCTP = 2 }

export interface Int64Value { value: number }
export interface SecurityProfile { profile_type: ProfileType; localhost_ref: string }
export interface NamespaceOption { network: NamespaceMode; pid: NamespaceMode; ipc: NamespaceMode; target_id: string }
export interface PortMapping { protocol: Protocol; container_port: number; host_port: number; host_ip: string }
export interface DNSConfig { servers: string[]; searches: string[]; options: string[] }
export interface PodSandboxMetadata { name: string; uid: string; namespace: string; attempt: number }

export interface LinuxSandboxSecurityContext {
  namespace_options: NamespaceOption | null;
  run_as_user: Int64Value | null; run_as_group: Int64Value | null;
  readonly_rootfs: boolean; supplemental_groups: number[]; privileged: boolean;
  seccomp: SecurityProfile | null; seccomp_profile_path: string;
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata | null;
  hostname: string;
  log_directory: string;
  dns_config: DNSConfig | null;
  port_mappings: PortMapping[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  linux: { cgroup_parent: string; security_context: LinuxSandboxSecurityContext | null; sysctls: Record<string, string> } | null;
}

export interface LinuxContainerResources {
  cpu_period: number; cpu_quota: number; cpu_shares: number; memory_limit_in_bytes: number; oom_score_adj: number;
  cpuset_cpus: string; cpuset_mems: string; memory_swap_limit_in_bytes: number; unified: Record<string, string>;
}

export interface LinuxContainerSecurityContext {
  capabilities: { add_capabilities: string[]; drop_capabilities: string[] } | null;
  privileged: boolean;
  namespace_options: NamespaceOption | null;
  run_as_user: Int64Value | null; run_as_group: Int64Value | null; run_as_username: string;
  readonly_rootfs: boolean; supplemental_groups: number[]; no_new_privs: boolean;
  masked_paths: string[]; readonly_paths: string[];
  seccomp: SecurityProfile | null; seccomp_profile_path: string;
  apparmor: SecurityProfile | null; apparmor_profile: string;
}

export interface Mount { container_path: string; host_path: string; readonly: boolean; selinux_relabel: boolean; propagation: Propagation }
export interface Device { container_path: string; host_path: string; permissions: string }
export interface ImageSpec { image: string; annotations: Record<string, string>; user_specified_image: string; runtime_handler: string }

export interface ContainerConfig {
  metadata: { name: string; attempt: number } | null;
  image: ImageSpec | null;
  command: string[]; args: string[]; working_dir: string;
  envs: Array<{ key: string; value: string }>;
  mounts: Mount[]; devices: Device[];
  labels: Record<string, string>; annotations: Record<string, string>;
  log_path: string; stdin: boolean; stdin_once: boolean; tty: boolean;
  linux: { resources: LinuxContainerResources | null; security_context: LinuxContainerSecurityContext | null } | null;
}

export interface AuthConfig { username: string; password: string; auth: string; server_address: string; identity_token: string; registry_token: string }

/** A gRPC unary handler's view of a call. */
export interface UnaryCall<Req> { request: Req }
