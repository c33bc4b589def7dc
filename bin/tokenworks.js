#!/usr/bin/env node
// The installed entry point: runs the compiled CLI (npm install builds dist/ through the prepare script).
import { runCli } from '../dist/cli/main.js';

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
