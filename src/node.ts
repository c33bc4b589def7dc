/**
 * The Node entry of Tokenworks (`tokenworks/node`): what needs Node's APIs. Spec files read with clear errors and
 * outputs written atomically, the output layer of the CLI (results on stdout, messages and progress on stderr),
 * the worker-thread runner (piscina) and the data source that reads trace files. The pure API is `tokenworks`.
 * @module
 */
export { createNodeDataSource } from './node/data-source.js';
export { type ScrapeOptions, type ScrapeResult, scrapeDcgm } from './node/dcgm-scrape-source.js';
export { checkWritable, loadSpecFile, readTextFile, writeFileAtomic, writeUserFile } from './node/files.js';
export { createLogFileSource, type LogFileSourceOptions } from './node/log-file-source.js';
export { createOutput, type Output, type OutputStreams, progressPort } from './node/output.js';
export { createPiscinaRunner } from './node/piscina-runner.js';
