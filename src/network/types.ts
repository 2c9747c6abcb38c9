// Public types of the network layer (re-exported by ./index).

export type NetworkMode = 'bridge' | 'none' | 'host';

export interface PortSpec {
  containerPort: number;
  protocol: 'tcp' | 'udp';
  /** '' = all IPv4 addresses */
  hostIp: string;
  /** 0 = a random free port of the ephemeral range */
  hostPort: number;
}

export interface PortBinding {
  containerPort: number;
  protocol: 'tcp' | 'udp';
  /** '' = all */
  hostIp: string;
  hostPort: number;
}

export interface Attachment {
  mode: NetworkMode;
  /** undefined for host mode */
  netnsPath?: string;
  /** 'bridge' | 'none' | 'host' */
  network?: string;
  ipAddress?: string;
  prefixLen?: number;
  gateway?: string;
  macAddress?: string;
  /** resolved (random ports chosen) */
  ports: PortBinding[];
  /** 64-hex endpoint id shown by inspect (addition to the agreed API; optional) */
  endpointId?: string;
}

export interface AttachRequest {
  mode: NetworkMode;
  ports: PortSpec[];
  /** container name without '/', used in error messages like Docker's "on endpoint <name>" (optional addition) */
  name?: string;
}
