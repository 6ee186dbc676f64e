#!/usr/bin/env node
// The invtrace command line. Only commander loads at start; each command imports its
// implementation when it runs, so `invtrace --help` answers at once.

import { buildProgram } from './program.js';

// Not awaited at top level: the bundled CLI is CommonJS (rolldown.config.js), which has none.
void buildProgram(process.argv[2]).parseAsync(process.argv);
