#!/usr/bin/env node
// The installed entry point: runs the compiled CLI (npm install builds dist/ through the prepare script).
import { main } from '../dist/cli/main.js';

await main();
