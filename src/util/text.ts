/**
 * User text made safe to echo in a message: cut to a length and with its control characters escaped, so that
 * neither a 5,000-character key nor a stray escape sequence reaches a terminal raw. Pure.
 * @module
 */

/** Longest piece of user text echoed in a message (a key or a string value); longer ones are cut with "…". */
export const MAX_ECHO_CHARS = 60;

/** Cuts `text` to {@link MAX_ECHO_CHARS} characters, marking the cut. */
export function shorten(text: string): string {
  const plain = escapeControls(text);
  return plain.length <= MAX_ECHO_CHARS ? plain : `${plain.slice(0, MAX_ECHO_CHARS - 1)}…`;
}

// C0 and C1 control characters and DEL: never echoed raw to a terminal.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Whether `text` holds a control character (tabs and newlines allowed). */
export function hasControlCharacter(text: string): boolean {
  CONTROL.lastIndex = 0;
  return CONTROL.test(text);
}

/** `text` with its control characters written as \uXXXX escapes (tabs and newlines kept). */
export function escapeControls(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
