// Configured Docker containers, when the Docker socket is there: state, health, restarts, CPU and
// memory, read from the Engine API the way `docker inspect` and `docker stats` read them. A container
// that does not exist is a reading (`running` 0), not an error.
import { DEFAULT_DOCKER_SOCKET, DockerClient } from './docker.js';
import { metricPart } from './proc-read.js';
import { SourceError, type Readings, type SourceEnv, type SystemSource } from './source.js';

/** The cumulative CPU counters of one stats answer, kept to rate the next one against. */
interface CpuSample {
  /** Container Id and State.StartedAt: another container or another start means counters from zero. */
  identity: string;
  /** cpu_stats.cpu_usage.total_usage, ns of CPU. */
  totalNs: number;
  /** cpu_stats.system_cpu_usage, ns of host CPU time over all CPUs. */
  systemNs: number;
}

/** What /containers/<name>/json tells, reduced to what we report. */
export interface ContainerState {
  id: string;
  status: string;
  /** State.Health.Status: none, starting, healthy, unhealthy; undefined without a healthcheck. */
  health: string | undefined;
  restartCount: number;
  startedAt: string;
}

export class ContainerSource implements SystemSource {
  readonly name = 'container';
  private readonly client: DockerClient;
  private readonly previous = new Map<string, CpuSample>();
  private readonly prefixes: ReadonlyMap<string, string>;

  constructor(
    env: Pick<SourceEnv, 'timeoutMs'>,
    readonly containers: readonly string[],
    socketPath: string = DEFAULT_DOCKER_SOCKET,
  ) {
    this.client = new DockerClient(socketPath, env.timeoutMs);
    const prefixes = new Map<string, string>();
    const used = new Set<string>();
    for (const name of containers) {
      // Docker names may hold dots, which would split a metric name.
      const prefix = `container.${metricPart(name.replace(/^\//, ''))}`;
      if (used.has(prefix)) throw new Error(`container "${name}": another container has the same metric name ${prefix}`);
      used.add(prefix);
      prefixes.set(name, prefix);
    }
    this.prefixes = prefixes;
  }

  async sample(now: number): Promise<Readings> {
    try {
      const parts = await Promise.all(this.containers.map((name) => this.readContainer(name, now)));
      return new Map(parts.flatMap((m) => [...m]));
    } catch (err) {
      if (err instanceof SourceError) throw err;
      throw new SourceError('failed', `container: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  close(): void {
    this.client.close();
  }

  private async readContainer(name: string, now: number): Promise<Readings> {
    const prefix = this.prefixes.get(name) as string;
    const ref = encodeURIComponent(name.replace(/^\//, ''));
    const out: Readings = new Map();
    const inspect = await this.client.get(`/containers/${ref}/json`);
    if (inspect.status === 404) {
      this.previous.delete(name);
      out.set(`${prefix}.running`, 0);
      return out;
    }
    const state = parseInspect(inspect.json, name);
    const running = state.status === 'running';
    out.set(`${prefix}.running`, running ? 1 : 0);
    out.set(`${prefix}.restarts`, state.restartCount);
    if (state.health === 'healthy') out.set(`${prefix}.healthy`, 1);
    else if (state.health === 'unhealthy') out.set(`${prefix}.healthy`, 0);
    if (!running) {
      this.previous.delete(name);
      return out;
    }
    const started = Date.parse(state.startedAt);
    if (Number.isFinite(started)) out.set(`${prefix}.uptime`, Math.max(0, (now - started) / 1000));

    // one-shot: answer at once with precpu_stats blank (API >= 1.41) instead of sampling for a
    // second; the rate comes from the previous round's answer instead.
    const stats = await this.client.get(`/containers/${ref}/stats?stream=false&one-shot=true`);
    if (stats.status === 404) return out; // removed between the two requests
    if (!isObject(stats.json)) throw new SourceError('parse', `container ${name}: stats answer is not an object`);
    const identity = `${state.id}@${state.startedAt}`;
    const cpu = cpuPercent(stats.json, this.previous.get(name), identity);
    if (cpu.percent !== undefined) out.set(`${prefix}.cpu`, cpu.percent);
    if (cpu.sample !== undefined) this.previous.set(name, cpu.sample);
    else this.previous.delete(name);
    const memory = memoryUsed(stats.json['memory_stats']);
    if (memory !== undefined) out.set(`${prefix}.memory`, memory);
    const limit = numberAt(stats.json['memory_stats'], 'limit');
    if (limit !== undefined && limit > 0) out.set(`${prefix}.memory_limit`, limit);
    return out;
  }
}

export function parseInspect(json: unknown, name: string): ContainerState {
  const state = isObject(json) ? json['State'] : undefined;
  if (!isObject(json) || !isObject(state) || typeof state['Status'] !== 'string') {
    throw new SourceError('parse', `container ${name}: inspect answer has no State.Status`);
  }
  const health = state['Health'];
  return {
    id: typeof json['Id'] === 'string' ? json['Id'] : '',
    status: state['Status'],
    health: isObject(health) && typeof health['Status'] === 'string' ? health['Status'] : undefined,
    restartCount: typeof json['RestartCount'] === 'number' ? json['RestartCount'] : 0,
    startedAt: typeof state['StartedAt'] === 'string' ? state['StartedAt'] : '',
  };
}

/**
 * CPU % of one core the way `docker stats` computes it: container CPU time over host CPU time,
 * times the number of CPUs (so 200 % is two cores busy). The base is the answer's own precpu_stats
 * when the daemon filled it (daemons older than API 1.41 ignore one-shot), else the previous
 * round's answer for the same container start.
 */
export function cpuPercent(
  stats: Record<string, unknown>,
  previous: CpuSample | undefined,
  identity: string,
): { percent?: number; sample?: CpuSample } {
  const cpu = stats['cpu_stats'];
  const totalNs = numberAt(cpu, 'cpu_usage', 'total_usage');
  const systemNs = numberAt(cpu, 'system_cpu_usage');
  if (totalNs === undefined || systemNs === undefined) return {};
  const sample: CpuSample = { identity, totalNs, systemNs };

  const pre = stats['precpu_stats'];
  const preSystem = numberAt(pre, 'system_cpu_usage');
  const preTotal = numberAt(pre, 'cpu_usage', 'total_usage');
  let base: { totalNs: number; systemNs: number } | undefined;
  if (preSystem !== undefined && preSystem > 0 && preTotal !== undefined) base = { totalNs: preTotal, systemNs: preSystem };
  else if (previous !== undefined && previous.identity === identity) base = previous;
  if (base === undefined) return { sample };

  const cpus = numberAt(cpu, 'online_cpus') ?? percpuCount(cpu);
  const cpuDelta = totalNs - base.totalNs;
  const systemDelta = systemNs - base.systemNs;
  if (cpus === undefined || !(systemDelta > 0) || cpuDelta < 0) return { sample };
  return { percent: (cpuDelta / systemDelta) * cpus * 100, sample };
}

/**
 * Memory in use as `docker stats` shows it: usage less the page cache the kernel can drop at once,
 * total_inactive_file on cgroup v1, inactive_file on cgroup v2.
 */
export function memoryUsed(memoryStats: unknown): number | undefined {
  const usage = numberAt(memoryStats, 'usage');
  if (usage === undefined) return undefined;
  const v1 = numberAt(memoryStats, 'stats', 'total_inactive_file');
  if (v1 !== undefined && v1 < usage) return usage - v1;
  const v2 = numberAt(memoryStats, 'stats', 'inactive_file');
  if (v2 !== undefined && v2 < usage) return usage - v2;
  return usage;
}

function percpuCount(cpu: unknown): number | undefined {
  const usage = isObject(cpu) ? cpu['cpu_usage'] : undefined;
  const list = isObject(usage) ? usage['percpu_usage'] : undefined;
  return Array.isArray(list) && list.length > 0 ? list.length : undefined;
}

function numberAt(value: unknown, ...path: string[]): number | undefined {
  let at: unknown = value;
  for (const key of path) {
    if (!isObject(at)) return undefined;
    at = at[key];
  }
  return typeof at === 'number' && Number.isFinite(at) ? at : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
