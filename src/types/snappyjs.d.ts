/**
 * Types of `snappyjs` 0.7 (pure-JS Snappy, block format; the package ships none): `compress` and `uncompress` of
 * `index.js`, which return the type they were given (a Buffer for a Buffer, a Uint8Array for a Uint8Array).
 */
declare module 'snappyjs' {
  /** Snappy block-format compression of `uncompressed`. */
  export function compress<T extends Uint8Array | ArrayBuffer>(uncompressed: T): T;
  /**
   * Decompresses a Snappy block; throws on a bad bitstream, or when the length its header declares is over
   * `maxLength` (checked before anything is allocated).
   */
  export function uncompress<T extends Uint8Array | ArrayBuffer>(compressed: T, maxLength?: number): T;
}
