/** The piscina runner passes the runner contract on two worker threads. */
import { runnerContract } from '../app/runner.contract.js';
import { createNodeDataSource } from './data-source.js';
import { createPiscinaRunner } from './piscina-runner.js';

runnerContract('piscina runner', () => createPiscinaRunner(2), createNodeDataSource());
