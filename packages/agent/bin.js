#!/usr/bin/env node
// Thin shim (house style §11): reflect-metadata first (@peculiar/x509), then the built entry point.
import 'reflect-metadata';

const { main } = await import('./dist/main.js');
process.exitCode = await main(process.argv.slice(2));
