import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second for /proc/<pid>/stat's utime and stime (USER_HZ is 100 on Linux). */
const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

/** CPU time and resident memory of a process and all its descendants (a cluster's primary and workers). */
export interface TreeUsage {
  /** user + system CPU seconds, summed over the tree. */
  readonly cpuSeconds: number;
  /** Resident memory, summed over the tree. */
  readonly rssBytes: number;
  /** The largest single process's resident memory. */
  readonly maxRssBytes: number;
  readonly processes: number;
}

interface Stat {
  readonly ppid: number;
  readonly ticks: number;
  readonly rssPages: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: fields are counted after it.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // After the name: state(0) ppid(1) … utime(11) stime(12) … rss(21).
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]), rssPages: Number(fields[21]) };
  } catch {
    return undefined; // exited meanwhile
  }
}

/**
 * Read from /proc rather than reported by the services, so that nothing in them changes for the
 * bench. A process that exits is no longer counted, so callers sample while the tree runs.
 */
export function treeUsage(rootPid: number): TreeUsage {
  const stats = new Map<number, Stat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat !== undefined) stats.set(Number(entry), stat);
  }
  const inTree = new Set<number>([rootPid]);
  // Parents may have higher pids than their children after pid wrap-around: iterate to a fixpoint.
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, stat] of stats) {
      if (!inTree.has(pid) && inTree.has(stat.ppid)) {
        inTree.add(pid);
        grew = true;
      }
    }
  }
  let ticks = 0;
  let rss = 0;
  let maxRss = 0;
  let processes = 0;
  for (const pid of inTree) {
    const stat = stats.get(pid);
    if (stat === undefined) continue;
    processes += 1;
    ticks += stat.ticks;
    rss += stat.rssPages * PAGE_BYTES;
    maxRss = Math.max(maxRss, stat.rssPages * PAGE_BYTES);
  }
  return { cpuSeconds: ticks / TICKS_PER_SECOND, rssBytes: rss, maxRssBytes: maxRss, processes };
}

/** CPU used by a group of process trees between two samples, and their memory at the second. */
export interface Usage {
  readonly cpuSeconds: number;
  readonly rssMiB: number;
  readonly processes: number;
}

export function sampleGroup(pids: readonly number[]): TreeUsage {
  const usages = pids.map(treeUsage);
  return {
    cpuSeconds: usages.reduce((sum, u) => sum + u.cpuSeconds, 0),
    rssBytes: usages.reduce((sum, u) => sum + u.rssBytes, 0),
    maxRssBytes: Math.max(0, ...usages.map((u) => u.maxRssBytes)),
    processes: usages.reduce((sum, u) => sum + u.processes, 0),
  };
}

/** Starts a measurement of `pids`; the returned function ends it. */
export function startUsage(pids: readonly number[]): () => Usage {
  const before = sampleGroup(pids);
  return () => {
    const after = sampleGroup(pids);
    return {
      cpuSeconds: after.cpuSeconds - before.cpuSeconds,
      rssMiB: after.rssBytes / 2 ** 20,
      processes: after.processes,
    };
  };
}
