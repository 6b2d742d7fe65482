// zod compiles a fast parser for each object schema on its first use (new Function); a run parses each
// schema once per host, and at start that compiling costs more than it saves (measured: the first host
// about 20 ms less CPU, 100 hosts no slower). zod reads the setting when a schema is created, so it must
// be set before any module that defines one is evaluated: main.ts imports this module first and only
// then the run's code (in a bundle, modules of one import run in an order of esbuild's choosing).
import { z } from 'zod';

z.config({ jitless: true });
