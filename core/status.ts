/**
 * The `status` and `connections` reports, laid out as Workerman's (GLOBAL STATUS / PROCESS
 * STATUS, and WORKERMAN CONNECTION STATUS). The master collects the numbers as data; the
 * command line formats them here, so `status -d` can compute qps between its own samples.
 *
 * @module
 */

/** One process's numbers, as a child reports them. */
export interface ProcessRow {
  pid: number;
  /** Resident memory in bytes. */
  memory: number;
  listening: string;
  name: string;
  connections: number;
  send_fail: number;
  timers: number;
  total_request: number;
}

/** What the master answers to `status`. */
export interface StatusReport {
  version: string;
  runtime: string;
  runtimeVersion: string;
  /** Master start time, ms since the epoch. */
  startTime: number;
  now: number;
  loadAverage: number[];
  workers: { name: string; listening: string; count: number; exits: [number, number][] }[];
  /** Every child the master knows, answered or not. */
  processes: { pid: number; name: string; listening: string; row: ProcessRow | null }[];
}

/** One connection row, as a child reports it. */
export interface ConnectionRow {
  pid: number;
  worker: string;
  id: number;
  transport: string;
  protocol: string;
  ipv4: boolean;
  ipv6: boolean;
  recvQ: number;
  sendQ: number;
  bytesRead: number;
  bytesWritten: number;
  status: string;
  local: string;
  remote: string;
}

const pad = (value: string | number, width: number) => String(value).padEnd(width);

function dateTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${
    p(d.getSeconds())
  }`;
}

function megabytes(bytes: number): string {
  return `${Math.round((bytes / 1048576) * 100) / 100}M`;
}

/**
 * The status text. `previous` maps pid → total_request of the caller's previous sample
 * (`status -d`), giving qps; without it qps is 0.
 */
export function formatStatus(report: StatusReport, previous?: Map<number, number>, intervalSeconds = 1): string {
  const rows = report.processes;
  const W = Math.max(12, ...report.workers.map((w) => w.name.length), ...rows.map((r) => r.name.length));
  const L = Math.max(12, ...report.workers.map((w) => w.listening.length), ...rows.map((r) => r.listening.length));
  const up = Math.floor((report.now - report.startTime) / 1000);
  const lines: string[] = [];
  lines.push(`${"-".repeat(46)}GLOBAL STATUS${"-".repeat(52)}`);
  lines.push(
    `Workerman-ts version:${report.version}          ${report.runtime} version:${report.runtimeVersion}`,
  );
  lines.push(
    `start time:${dateTime(report.startTime)}   run ${Math.floor(up / 86400)} days ${
      Math.floor((up % 86400) / 3600)
    } hours   `,
  );
  const load = report.loadAverage.length === 3 ? report.loadAverage.map((l) => l.toFixed(2)).join(", ") : "-";
  lines.push(`${pad(`load average: ${load}`, 33)}event-loop:native`);
  lines.push(`${report.workers.length} workers       ${rows.length} processes`);
  lines.push(`${pad("worker_name", W)} exit_status      exit_count`);
  for (const w of report.workers) {
    const exits = w.exits.length > 0 ? w.exits : [[0, 0] as [number, number]];
    for (const [status, count] of exits) lines.push(`${pad(w.name, W)} ${pad(status, 16)} ${count}`);
  }
  lines.push(`${"-".repeat(46)}PROCESS STATUS${"-".repeat(51)}`);
  lines.push(
    `pid\tmemory  ${pad("listening", L)} ${pad("worker_name", W)} connections ${pad("send_fail", 9)} ${
      pad("timers", 8)
    }${pad("total_request", 13)} qps    status`,
  );
  let sumMem = 0, sumConn = 0, sumFail = 0, sumTimers = 0, sumReq = 0, sumQps = 0;
  for (const p of [...rows].sort((a, b) => a.pid - b.pid)) {
    const r = p.row;
    if (!r) {
      lines.push(
        `${p.pid}\t${pad("N/A", 7)} ${pad(p.listening, L)} ${pad(p.name, W)} ${pad("N/A", 11)} ${pad("N/A", 9)} ${
          pad("N/A", 7)
        } ${pad("N/A", 13)} N/A    [busy]`,
      );
      continue;
    }
    const before = previous?.get(r.pid);
    const qps = before === undefined ? 0 : Math.max(0, Math.round((r.total_request - before) / intervalSeconds));
    sumMem += r.memory;
    sumConn += r.connections;
    sumFail += r.send_fail;
    sumTimers += r.timers;
    sumReq += r.total_request;
    sumQps += qps;
    lines.push(
      `${r.pid}\t${pad(megabytes(r.memory), 7)} ${pad(r.listening, L)} ${pad(r.name, W)} ${pad(r.connections, 11)} ${
        pad(r.send_fail, 9)
      } ${pad(r.timers, 7)} ${pad(r.total_request, 13)} ${pad(qps, 6)} [idle]`,
    );
  }
  lines.push(`${"-".repeat(46)}PROCESS STATUS${"-".repeat(51)}`);
  lines.push(
    `Summary\t${pad(megabytes(sumMem), 7)} ${pad("-", L)} ${pad("-", W)} ${pad(sumConn, 11)} ${pad(sumFail, 9)} ${
      pad(sumTimers, 7)
    } ${pad(sumReq, 13)} ${pad(sumQps, 6)} [Summary]`,
  );
  return lines.join("\n") + "\n";
}

function size(bytes: number): string {
  const units: [number, string][] = [[1024 ** 4, "TB"], [1024 ** 3, "GB"], [1024 ** 2, "MB"], [1024, "KB"]];
  for (const [unit, name] of units) if (bytes > unit) return `${(bytes / unit).toFixed(1)}${name}`;
  return `${bytes}B`;
}

const clip = (text: string, max: number) => (text.length > max + 2 ? `${text.slice(0, max)}..` : text);

/** The connections text: a header, then one row per connection. */
export function formatConnections(rows: ConnectionRow[]): string {
  const lines = [
    `${"-".repeat(69)} WORKERMAN CONNECTION STATUS ${"-".repeat(80)}`,
    "PID      Worker          CID       Trans   Protocol        ipv4   ipv6   Recv-Q       Send-Q       Bytes-R      Bytes-W       Status         Local Address          Foreign Address",
  ];
  for (const r of rows) {
    lines.push(
      pad(r.pid, 9) + pad(clip(r.worker, 12), 16) + pad(r.id, 10) + pad(r.transport, 8) +
        pad(clip(r.protocol, 13), 16) + pad(r.ipv4 ? " 1" : " 0", 7) + pad(r.ipv6 ? " 1" : " 0", 7) +
        pad(size(r.recvQ), 13) + pad(size(r.sendQ), 13) + pad(size(r.bytesRead), 13) + pad(size(r.bytesWritten), 13) +
        " " + pad(r.status, 14) + " " + pad(r.local, 22) + " " + r.remote,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * The facts of the status table as one JSON-ready object (`status --json`): the same numbers,
 * with their units in the names and no layout. `previous` gives qps as in {@link formatStatus}.
 */
export function statusDocument(report: StatusReport, previous?: Map<number, number>, intervalSeconds = 1): unknown {
  const summary = { processes: 0, memoryBytes: 0, connections: 0, sendFail: 0, timers: 0, totalRequest: 0, qps: 0 };
  const processes = [...report.processes].sort((a, b) => a.pid - b.pid).map((p) => {
    const r = p.row;
    summary.processes++;
    if (!r) return { pid: p.pid, worker: p.name, listening: p.listening, status: "busy" };
    const before = previous?.get(r.pid);
    const qps = before === undefined ? 0 : Math.max(0, Math.round((r.total_request - before) / intervalSeconds));
    summary.memoryBytes += r.memory;
    summary.connections += r.connections;
    summary.sendFail += r.send_fail;
    summary.timers += r.timers;
    summary.totalRequest += r.total_request;
    summary.qps += qps;
    return {
      pid: r.pid,
      worker: r.name,
      listening: r.listening,
      status: "idle",
      memoryBytes: r.memory,
      connections: r.connections,
      sendFail: r.send_fail,
      timers: r.timers,
      totalRequest: r.total_request,
      qps,
    };
  });
  return {
    version: report.version,
    runtime: report.runtime,
    runtimeVersion: report.runtimeVersion,
    startTime: new Date(report.startTime).toISOString(),
    uptimeSeconds: Math.floor((report.now - report.startTime) / 1000),
    loadAverage: report.loadAverage,
    workers: report.workers.map((w) => ({
      name: w.name,
      listening: w.listening,
      count: w.count,
      exits: w.exits.map(([status, count]) => ({ status, count })),
    })),
    processes,
    summary,
  };
}
