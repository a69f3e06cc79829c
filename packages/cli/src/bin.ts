#!/usr/bin/env node
/** The `ystate` executable. */

import { main } from './cli.js';

process.exitCode = await main(process.argv.slice(2));
// Open handles (a Redis reconnect timer, a keep-alive socket) must not keep a stopped server alive.
process.exit();
