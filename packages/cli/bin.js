#!/usr/bin/env node
// Thin shim (changesets style): reflect-metadata first (@peculiar/x509 needs it), then the built CLI.
import 'reflect-metadata';

const { main } = await import('./dist/index.js');
await main();
