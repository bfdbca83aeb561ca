#!/usr/bin/env node
// Thin shim (house style §11): the built entry point, then the exit code. reflect-metadata (needed by
// @peculiar/x509) is loaded together with x509 on first use by @vaultdist/sdk (x509/peculiar.ts), so
// the agent does not depend on it.
const { main } = await import('./dist/main.js');
process.exitCode = await main(process.argv.slice(2));
