// Writes the fake /proc (and /sys, pid file) trees under test/system/testdata/process/<case>/.
// Run: node test/system/testdata/process/make-fixtures.mjs
// Files follow proc(5) as a 6.x x86_64 kernel writes them (stat has 52 fields, status its usual
// lines). The expected readings in each case.json are written by hand below, with the arithmetic
// next to them, not computed by this script: the test must not share its arithmetic with the code.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** A stat line; the fields the source does not read are copied from a real one. */
function statLine(p) {
  const f = [
    p.pid, `(${p.comm})`, p.state ?? 'S', p.ppid ?? 1, p.pid, p.pid, 0, -1, 4194560, // 1-9
    52311, 0, 12, 0, p.utime, p.stime, 0, 0, 20, 0, p.threads, 0, p.start, // 10-22
    p.rssKb === null ? 0 : 1234567890, p.rssKb === null ? 0 : Math.round(p.rssKb / 4), // 23-24
    '18446744073709551615', 94475075915776, 94475075935657, 140732237501440, 0, 0, 0, 0, 0, // 25-33
    16386, 0, 0, 17, 1, 0, 0, 0, 0, 0, 94475075951664, 94475075953280, 94475406950400, // 34-46
    140732237507288, 140732237507308, 140732237507308, 140732237508587, 0, // 47-51
    0, // 52 exit code
  ];
  return `${f.join(' ')}\n`;
}

function statusText(p) {
  const lines = [
    `Name:\t${p.comm}`, 'Umask:\t0022', `State:\t${p.state ?? 'S'} (${p.state === 'Z' ? 'zombie' : 'sleeping'})`,
    `Tgid:\t${p.pid}`, 'Ngid:\t0', `Pid:\t${p.pid}`, `PPid:\t${p.ppid ?? 1}`, 'TracerPid:\t0',
    'Uid:\t998\t998\t998\t998', 'Gid:\t998\t998\t998\t998', 'FDSize:\t256',
  ];
  if (p.rssKb !== null) {
    lines.push(
      `VmPeak:\t${String(p.rssKb * 3).padStart(8)} kB`, `VmSize:\t${String(p.rssKb * 3).padStart(8)} kB`,
      'VmLck:\t       0 kB', `VmHWM:\t${String(p.rssKb).padStart(8)} kB`, `VmRSS:\t${String(p.rssKb).padStart(8)} kB`,
      `RssAnon:\t${String(p.rssKb - 1024).padStart(8)} kB`, 'RssFile:\t    1024 kB', 'RssShmem:\t       0 kB',
    );
  }
  lines.push(`Threads:\t${p.threads}`, 'SigQ:\t0/96365', 'Cpus_allowed_list:\t0-3');
  return `${lines.join('\n')}\n`;
}

function put(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** One round: uptime seconds, processes, and extra files (path under the round -> text). */
function writeRound(caseDir, round, { uptime, procs, files = {} }) {
  const root = join(caseDir, round);
  put(join(root, 'proc/uptime'), `${uptime.toFixed(2)} ${(uptime * 3.1).toFixed(2)}\n`);
  put(join(root, 'proc/stat'), `cpu  10132153 290696 3084719 46828483 16683 0 25195 0 0 0\nbtime 1709280000\nprocesses 26442\n`);
  for (const p of procs) {
    const dir = join(root, 'proc', String(p.pid));
    put(join(dir, 'stat'), statLine(p));
    put(join(dir, 'status'), statusText(p));
    put(join(dir, 'comm'), `${p.comm}\n`);
    put(join(dir, 'cmdline'), p.argv.length === 0 ? '' : `${p.argv.join('\0')}\0`);
  }
  for (const [path, text] of Object.entries(files)) put(join(root, path), text);
}

function writeCase(name, spec) {
  const dir = join(here, name);
  rmSync(dir, { recursive: true, force: true });
  spec.rounds.forEach((r, i) => writeRound(dir, `round${i + 1}`, r));
  put(
    join(dir, 'case.json'),
    `${JSON.stringify({ about: spec.about, watches: spec.watches, expected: spec.rounds.map((r) => r.expected) }, null, 2)}\n`,
  );
}

// Neighbours every round has: init, a kernel thread (no cmdline, no VmRSS), a shell.
const init = { pid: 1, comm: 'systemd', utime: 811, stime: 402, threads: 1, start: 2, rssKb: 12800, argv: ['/sbin/init', 'splash'] };
const kthread = { pid: 77, comm: 'kworker/0:1-events', ppid: 2, utime: 0, stime: 91, threads: 1, start: 40, rssKb: null, argv: [] };
const shell = { pid: 640, comm: 'bash', utime: 3, stime: 1, threads: 1, start: 9100, rssKb: 5200, argv: ['-bash'] };
const triton = (over) => ({
  pid: 812, comm: 'tritonserver', utime: 4000, stime: 1000, threads: 42, start: 50000, rssKb: 1843200,
  argv: ['/opt/tritonserver/bin/tritonserver', '--model-repository=/models'], ...over,
});
// A worker of the same name that started later: the oldest (the parent) must win.
const tritonWorker = (over) => triton({ pid: 905, ppid: 812, utime: 9000, stime: 10, threads: 8, start: 50900, rssKb: 204800, ...over });

writeCase('by-name', {
  about: 'Found by comm among a younger namesake; CPU: (4200+1050 - 4000-1000) ticks = 250 ticks = 2.5 s over 1010.00-1000.00 = 10 s -> 25 %.',
  watches: [{ name: 'triton', match: { process_name: 'tritonserver' } }],
  rounds: [
    { uptime: 1000, procs: [init, kthread, shell, triton(), tritonWorker()],
      // uptime 1000 - 50000/100 = 500 s; RSS 1843200 kB * 1024 = 1887436800 B
      expected: { 'process.triton.up': 1, 'process.triton.restarts': 0, 'process.triton.threads': 42, 'process.triton.uptime': 500, 'process.triton.rss': 1887436800 } },
    { uptime: 1010, procs: [init, kthread, shell, triton({ utime: 4200, stime: 1050, rssKb: 1843712 }), tritonWorker({ utime: 9900 })],
      // 1843712 * 1024 = 1887961088
      expected: { 'process.triton.up': 1, 'process.triton.restarts': 0, 'process.triton.threads': 42, 'process.triton.uptime': 510, 'process.triton.rss': 1887961088, 'process.triton.cpu': 25 } },
  ],
});

const py = (over) => ({ pid: 1234, comm: 'python3', utime: 30000, stime: 2000, threads: 17, start: 120000, rssKb: 3145728, argv: ['/usr/bin/python3', '-m', 'serve'], ...over });
writeCase('by-pid-file', {
  about: 'A python server named by its pid file (comm "python3" says nothing). CPU: 1500 ticks = 15 s over 10 s -> 150 % (1.5 cores).',
  watches: [{ name: 'detector', match: { pid_file: 'run/detector.pid' } }],
  rounds: [
    { uptime: 2000.5, procs: [init, kthread, py()], files: { 'run/detector.pid': '1234\n' },
      // 2000.5 - 1200 = 800.5 s; 3145728 kB = 3221225472 B
      expected: { 'process.detector.up': 1, 'process.detector.restarts': 0, 'process.detector.threads': 17, 'process.detector.uptime': 800.5, 'process.detector.rss': 3221225472 } },
    { uptime: 2010.5, procs: [init, kthread, py({ utime: 31400, stime: 2100, threads: 18 })], files: { 'run/detector.pid': '1234\n' },
      expected: { 'process.detector.up': 1, 'process.detector.restarts': 0, 'process.detector.threads': 18, 'process.detector.uptime': 810.5, 'process.detector.rss': 3221225472, 'process.detector.cpu': 150 } },
  ],
});

const unitMain = (over) => ({ pid: 2201, comm: 'infer-server', utime: 700, stime: 300, threads: 9, start: 30000, rssKb: 409600, argv: ['/usr/local/bin/infer-server'], ...over });
const unitHelper = { pid: 2250, ppid: 2201, comm: 'sh', utime: 0, stime: 0, threads: 1, start: 30500, rssKb: 900, argv: ['/bin/sh', '-c', 'sleep 60'] };
writeCase('by-cgroup', {
  about: 'A systemd unit "infer" -> infer.service cgroup; the helper listed first is younger, the main process wins. CPU: 50 ticks = 0.5 s over 5 s -> 10 %.',
  watches: [{ name: 'infer', match: { systemd_unit: 'infer' } }],
  rounds: [
    { uptime: 400, procs: [init, unitMain(), unitHelper], files: { 'sys/fs/cgroup/system.slice/infer.service/cgroup.procs': '2250\n2201\n' },
      // 400 - 300 = 100 s; 409600 kB = 419430400 B
      expected: { 'process.infer.up': 1, 'process.infer.restarts': 0, 'process.infer.threads': 9, 'process.infer.uptime': 100, 'process.infer.rss': 419430400 } },
    { uptime: 405, procs: [init, unitMain({ utime: 740, stime: 310 }), unitHelper], files: { 'sys/fs/cgroup/system.slice/infer.service/cgroup.procs': '2250\n2201\n' },
      expected: { 'process.infer.up': 1, 'process.infer.restarts': 0, 'process.infer.threads': 9, 'process.infer.uptime': 105, 'process.infer.rss': 419430400, 'process.infer.cpu': 10 } },
  ],
});

writeCase('restart', {
  about: 'The server dies and comes back under a new pid between rounds: restarts 1, no CPU for the round that spans it (its counters restarted from 0), CPU again after. Round 3 CPU: 40 ticks = 0.4 s over 2 s -> 20 %.',
  watches: [{ name: 'triton', match: { process_name: 'tritonserver' } }],
  rounds: [
    // an idle server: 100 ticks in 500 s
    { uptime: 1000, procs: [init, shell, triton({ utime: 60, stime: 40 })],
      expected: { 'process.triton.up': 1, 'process.triton.restarts': 0, 'process.triton.threads': 42, 'process.triton.uptime': 500, 'process.triton.rss': 1887436800 } },
    // The new process started at 1008.00 s (100800 ticks) and spent 300 ticks loading models: a
    // pid-blind delta would report (300 - 100) / 100 / 10 s = 20 % that nobody used.
    { uptime: 1010, procs: [init, shell, triton({ pid: 1710, utime: 250, stime: 50, start: 100800, threads: 30, rssKb: 1048576 })],
      // 1010 - 1008 = 2 s; 1048576 kB = 1073741824 B
      expected: { 'process.triton.up': 1, 'process.triton.restarts': 1, 'process.triton.threads': 30, 'process.triton.uptime': 2, 'process.triton.rss': 1073741824 } },
    { uptime: 1012, procs: [init, shell, triton({ pid: 1710, utime: 280, stime: 60, start: 100800, threads: 41, rssKb: 1048576 })],
      expected: { 'process.triton.up': 1, 'process.triton.restarts': 1, 'process.triton.threads': 41, 'process.triton.uptime': 4, 'process.triton.rss': 1073741824, 'process.triton.cpu': 20 } },
  ],
});

writeCase('pid-reused', {
  about: 'The server exits and its pid 812 goes to an unrelated bash (another start time); the server is back at 1710. Then the server is gone and 812 is still bash: down, not "up as bash".',
  watches: [{ name: 'triton', match: { process_name: 'tritonserver' } }],
  rounds: [
    { uptime: 1000, procs: [init, triton()],
      expected: { 'process.triton.up': 1, 'process.triton.restarts': 0, 'process.triton.threads': 42, 'process.triton.uptime': 500, 'process.triton.rss': 1887436800 } },
    { uptime: 1010, procs: [init, { ...shell, pid: 812, start: 100500, utime: 9999, stime: 9999 }, triton({ pid: 1710, start: 100700, utime: 90, stime: 10 })],
      // 1010 - 1007 = 3 s
      expected: { 'process.triton.up': 1, 'process.triton.restarts': 1, 'process.triton.threads': 42, 'process.triton.uptime': 3, 'process.triton.rss': 1887436800 } },
    { uptime: 1020, procs: [init, { ...shell, pid: 812, start: 100500, utime: 9999, stime: 9999 }],
      expected: { 'process.triton.up': 0, 'process.triton.restarts': 1 } },
  ],
});

writeCase('down', {
  about: 'Three ways to be down: no process by that name (and a zombie of it), a pid file naming an exited pid, a unit whose cgroup is gone. Then they come back under new pids: each counts one restart.',
  watches: [
    { name: 'triton', match: { process_name: 'tritonserver' } },
    { name: 'detector', match: { pid_file: 'run/detector.pid' } },
    { name: 'infer', match: { systemd_unit: 'infer.service' } },
  ],
  rounds: [
    { uptime: 1000, procs: [init, triton(), py({ start: 20000 }), unitMain()],
      files: { 'run/detector.pid': '1234\n', 'sys/fs/cgroup/system.slice/infer.service/cgroup.procs': '2201\n' },
      expected: {
        'process.triton.up': 1, 'process.triton.restarts': 0, 'process.triton.threads': 42, 'process.triton.uptime': 500, 'process.triton.rss': 1887436800,
        // 1000 - 20000/100 = 800 s
        'process.detector.up': 1, 'process.detector.restarts': 0, 'process.detector.threads': 17, 'process.detector.uptime': 800, 'process.detector.rss': 3221225472,
        'process.infer.up': 1, 'process.infer.restarts': 0, 'process.infer.threads': 9, 'process.infer.uptime': 700, 'process.infer.rss': 419430400,
      } },
    { uptime: 1010, procs: [init, triton({ state: 'Z', threads: 1, rssKb: null })],
      files: { 'run/detector.pid': '1234\n' },
      expected: { 'process.triton.up': 0, 'process.triton.restarts': 0, 'process.detector.up': 0, 'process.detector.restarts': 0, 'process.infer.up': 0, 'process.infer.restarts': 0 } },
    { uptime: 1100, procs: [init, triton({ pid: 3001, start: 109000 }), py({ pid: 3002, start: 109100 }), unitMain({ pid: 3003, start: 109200 })],
      files: { 'run/detector.pid': '3002\n', 'sys/fs/cgroup/system.slice/infer.service/cgroup.procs': '3003\n' },
      expected: {
        'process.triton.up': 1, 'process.triton.restarts': 1, 'process.triton.threads': 42, 'process.triton.uptime': 10, 'process.triton.rss': 1887436800,
        'process.detector.up': 1, 'process.detector.restarts': 1, 'process.detector.threads': 17, 'process.detector.uptime': 9, 'process.detector.rss': 3221225472,
        'process.infer.up': 1, 'process.infer.restarts': 1, 'process.infer.threads': 9, 'process.infer.uptime': 8, 'process.infer.rss': 419430400,
      } },
  ],
});

const longName = (over) => ({
  pid: 4400, comm: 'nvidia-inferenc', utime: 100, stime: 100, threads: 12, start: 80000, rssKb: 524288,
  argv: ['/opt/nvidia/bin/nvidia-inference-server', '--port', '8001'], ...over,
});
// Older, same 15-byte comm, other program: picking the oldest by comm alone would take it.
const lookalike = { pid: 4100, comm: 'nvidia-inferenc', utime: 5, stime: 5, threads: 2, start: 70000, rssKb: 8192, argv: ['/opt/nvidia/bin/nvidia-inference-helper'] };
writeCase('comm-truncated', {
  about: 'A 23-byte name: comm holds 15 bytes, argv[0] tells the server from an older lookalike. CPU: 100 ticks = 1 s over 4 s -> 25 %.',
  watches: [{ name: 'nim', match: { process_name: 'nvidia-inference-server' } }],
  rounds: [
    { uptime: 900, procs: [init, lookalike, longName()],
      // 900 - 800 = 100 s; 524288 kB = 536870912 B
      expected: { 'process.nim.up': 1, 'process.nim.restarts': 0, 'process.nim.threads': 12, 'process.nim.uptime': 100, 'process.nim.rss': 536870912 } },
    { uptime: 904, procs: [init, lookalike, longName({ utime: 180, stime: 120 })],
      expected: { 'process.nim.up': 1, 'process.nim.restarts': 0, 'process.nim.threads': 12, 'process.nim.uptime': 104, 'process.nim.rss': 536870912, 'process.nim.cpu': 25 } },
  ],
});
