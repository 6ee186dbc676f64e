#!/usr/bin/env node
// The invtrace command line. Only commander loads at start; each command imports its
// implementation when it runs, so `invtrace --help` answers at once.

import { buildProgram } from './program.js';

// A reader that stops early (`| head`) closes stdout: that is not an error of ours.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

await buildProgram(process.argv[2]).parseAsync(process.argv);
