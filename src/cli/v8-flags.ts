// V8 settings a run changes after start (run-command.ts), with V8's defaults. V8 stamps a code cache with
// its flags and refuses it under others: the vendored packages (vendor-load.ts) are compiled, and their
// cache written, under the defaults, wherever in a run they are loaded.
import { setFlagsFromString } from 'node:v8';

// V8 doubles the young generation up to 2 x 16 MB whenever many objects survive a scavenge, and a run's
// expansion and its hosts' facts keep it growing; the pages then stay resident to the end. Kept at its
// initial 1 MB per half (the one young-generation setting V8 takes after start), peak RSS at 100 hosts
// falls from about 180 to 140 MB, 116 to 88 MB at 20, for a few percent more CPU (measured in the bench's
// simulation).
//
// TurboFan, V8's optimizing compiler, was a fifth of a check's CPU (perf on the CLI at 40 entries: its compile jobs,
// on background threads, on the cores the hosts need too) for code that runs a few hundred times at most in a run.
// Without it functions still get Sparkplug's baseline code: controller CPU at 20 entries 0.79 -> 0.65 s, at 40 1.15
// -> 0.94 s, 21.8 -> 17.2 ms per extra entry, 5-6 MB less peak RSS (medians of 3, alternating, same hosts). The
// code caches are still taken (--max-opt would make V8 refuse ssh2's).
const RUN_V8_FLAGS = [
  { set: '--semi-space-growth-factor=1', default: '--semi-space-growth-factor=2' },
  { set: '--no-turbofan', default: '--turbofan' },
];

let applied = false;

/** The run's V8 settings, from now on. */
export function applyRunV8Flags(): void {
  for (const flag of RUN_V8_FLAGS) setFlagsFromString(flag.set);
  applied = true;
}

/** `fn` under V8's default flags (the run's settings back afterwards, if they were applied). */
export function withDefaultV8Flags<T>(fn: () => T): T {
  if (!applied) return fn();
  for (const flag of RUN_V8_FLAGS) setFlagsFromString(flag.default);
  try {
    return fn();
  } finally {
    for (const flag of RUN_V8_FLAGS) setFlagsFromString(flag.set);
  }
}
