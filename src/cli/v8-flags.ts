// V8 settings a run changes after start (run-command.ts), with V8's defaults: the code cache writer
// (vendor-load.ts) puts the defaults back first, since V8 refuses a cache made under other flags.

// V8 doubles the young generation up to 2 x 16 MB whenever many objects survive a scavenge, and a run's
// expansion and its hosts' facts keep it growing; the pages then stay resident to the end. Kept at its
// initial 1 MB per half (the one young-generation setting V8 takes after start), peak RSS at 100 hosts
// falls from about 180 to 140 MB, 116 to 88 MB at 20, for a few percent more CPU (measured in the bench's
// simulation).
export const RUN_V8_FLAGS = [{ set: '--semi-space-growth-factor=1', default: '--semi-space-growth-factor=2' }];
