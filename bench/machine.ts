import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';

export interface Machine {
  readonly cores: number;
  readonly model: string;
  readonly memoryGb: number;
  readonly os: string;
  readonly node: string;
  /** The OpenSSL inside Node (what crypto.sign uses). */
  readonly nodeOpenssl: string;
  /** The openssl CLI that `openssl speed` ran. */
  readonly opensslCli: string;
  /** 1-minute load average when the run started and ended: the machine may be shared. */
  readonly loadStart: number;
  loadEnd?: number;
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.split(':').slice(1).join(':').trim();
  } catch {
    // not Linux: fall back to what Node reports
  }
  return cpus()[0]?.model ?? 'unknown';
}

function opensslCli(): string {
  try {
    return execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'not found';
  }
}

export function machine(): Machine {
  return {
    cores: cpus().length,
    model: cpuModel(),
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    os: `${platform()} ${release()}`,
    node: process.version,
    nodeOpenssl: process.versions.openssl ?? 'unknown',
    opensslCli: opensslCli(),
    loadStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

export function finishMachine(m: Machine): Machine {
  m.loadEnd = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  return m;
}
