#!/usr/bin/env node
// Thin shim (changesets style): the built CLI. (@peculiar/x509 is loaded on first use, with
// reflect-metadata before it: @vaultdist/sdk's x509/peculiar.ts.)
const { main } = await import('./dist/index.js');
await main();
