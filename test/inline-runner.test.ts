/** The inline runner passes the runner contract (it is also the reference the contract compares with). */
import { createInlineRunner } from '../src/app/inline-runner.js';
import { runnerContract } from '../src/app/runner.contract.js';
import { createNodeDataSource } from '../src/node/data-source.js';

const data = createNodeDataSource();
runnerContract('inline runner', () => createInlineRunner(data), data);
