/**
 * Kept until breakpoint/ moves: the event kernel now lives in src/sim/; import it from there.
 * @module
 */
export * from '../../sim/index.js';
