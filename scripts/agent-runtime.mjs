// How the agent's Node runs, wherever it is started: by the bundle's shebang (scripts/build.mjs), as
// the single executable (scripts/build-binary.mjs: execArgv in its blob) and as the service
// (config/edgewatch-agent.service: Environment=). Why each (docs/footprint.md): a 2 MiB young
// generation keeps the peak under a full-speed ingest low at no measured throughput cost; one V8
// platform worker; V8 heuristics that favour size.
export const AGENT_V8_FLAGS = ['--max-semi-space-size=2', '--v8-pool-size=1', '--optimize-for-size'];

// glibc reads these only at the process's start, so an executable cannot set them for itself: the
// shebang and the unit do. Two malloc arenas instead of one per thread; the mmap and trim thresholds
// pinned at 128 KiB, or glibc raises them after a freed 1 MiB read buffer and keeps what is freed.
export const AGENT_MALLOC_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '131072' };
