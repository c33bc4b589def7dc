/**
 * What the spec editor needs of YAML without a parser: the path of keys at the cursor (block mappings and `- `
 * list items, by indentation), whether the cursor is on a key or a value, and the line of a field path that an
 * issue names (`workload.training.totalTokens`, `faults[0].host`). Flow collections (`{ a: 1 }`) are not walked:
 * an issue inside one is placed on the line of its key.
 * @module
 */

/** A key or a list item (`[]` when walking down a schema). */
export type Segment = string;

/** Where the cursor is, for completion. */
export interface CursorContext {
  /** Keys from the root to the mapping the cursor is in (`[]` marks a list item). */
  readonly path: readonly Segment[];
  /** Completing a key, or the value of `key`. */
  readonly kind: 'key' | 'value';
  readonly key?: string;
  /** What is typed so far, and the offsets it spans (replaced by the completion). */
  readonly prefix: string;
  readonly from: number;
  readonly to: number;
  /** Indentation of the key, in spaces. */
  readonly indent: number;
  /** Keys already written in this mapping. */
  readonly siblings: readonly string[];
}

/** One line's shape: its indentation, a list dash, its key and whether it opens a block (`key:` alone). */
interface LineShape {
  /** Column of the key (after any `- `). */
  readonly indent: number;
  /** Column of the `- ` when the line starts a list item. */
  readonly dash?: number;
  readonly key?: string;
  readonly opens: boolean;
}

const KEY_LINE = /^(\s*)(-\s+)?([A-Za-z_$][\w$.-]*)\s*:(\s.*)?$/;

/** The shape of a line, or undefined for blank lines and comments. */
function shape(line: string): LineShape | undefined {
  const text = line.replace(/\s+#.*$/, '');
  if (text.trim() === '' || text.trim().startsWith('#')) return undefined;
  const match = KEY_LINE.exec(text);
  const lead = /^\s*/.exec(text)?.[0].length ?? 0;
  if (!match) {
    const dash = /^(\s*)-(\s+|$)/.exec(text);
    return dash ? { indent: lead + (dash[0].length - lead), dash: lead, opens: false } : { indent: lead, opens: false };
  }
  const indent = (match[1]?.length ?? 0) + (match[2]?.length ?? 0);
  const rest = (match[4] ?? '').trim();
  return {
    indent,
    ...(match[2] !== undefined && { dash: match[1]?.length ?? 0 }),
    key: match[3] as string,
    opens: rest === '' || rest === '|' || rest === '>',
  };
}

/** The parents of a line whose key is at column `indent` (line index `at`), walking up: keys, and `[]` for items. */
function parents(lines: readonly string[], at: number, indent: number, dash: number | undefined): Segment[] {
  const path: Segment[] = [];
  /** A parent must start left of this column… */
  let level = indent;
  /** …or at it, when it is the key that owns a list (`key:` then `- item` at the key's own column). */
  let owner = false;
  if (dash !== undefined) {
    path.unshift('[]');
    level = dash;
    owner = true;
  }
  for (let i = at - 1; i >= 0 && (level > 0 || owner); i--) {
    const s = shape(lines[i] as string);
    if (s === undefined) continue;
    if (s.dash !== undefined && s.dash < level && s.indent <= level && !owner) {
      // Inside this list item: a sibling key of its mapping, or under its key.
      if (s.indent < level && s.key !== undefined) path.unshift(s.key);
      path.unshift('[]');
      level = s.dash;
      owner = true;
    } else if (s.dash !== undefined && owner && s.dash < level) {
      // An item of an enclosing list, left of ours.
      if (s.key !== undefined && s.opens) path.unshift(s.key);
      path.unshift('[]');
      level = s.dash;
    } else if (s.dash === undefined && s.key !== undefined && (s.indent < level || (owner && s.indent === level))) {
      path.unshift(s.key);
      level = s.indent;
      owner = false;
    }
  }
  return path;
}

/** The keys of the mapping that holds line `at` at `indent` (above and below it, until the mapping ends). */
function siblingKeys(lines: readonly string[], at: number, indent: number): string[] {
  const keys: string[] = [];
  for (const step of [-1, 1]) {
    for (let i = at + step; i >= 0 && i < lines.length; i += step) {
      const s = shape(lines[i] as string);
      if (s === undefined) continue;
      if (s.indent < indent) break;
      if (s.indent === indent && s.key !== undefined) {
        keys.push(s.key);
        if (s.dash !== undefined && step === -1) break;
      }
    }
  }
  return keys;
}

/** What the cursor at `offset` of `text` is completing, or undefined where nothing is (a comment, a flow value). */
export function cursorContext(text: string, offset: number): CursorContext | undefined {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const before = text.slice(lineStart, offset);
  const lines = text.slice(0, lineStart).split('\n');
  lines.pop();
  const at = lines.length;
  const all = text.split('\n');
  if (before.includes('#')) return undefined;
  const keyMatch = /^(\s*)(-\s+)?([A-Za-z_$][\w$-]*)?$/.exec(before);
  if (keyMatch) {
    const indent = (keyMatch[1]?.length ?? 0) + (keyMatch[2]?.length ?? 0);
    const dash = keyMatch[2] === undefined ? undefined : (keyMatch[1]?.length ?? 0);
    const prefix = keyMatch[3] ?? '';
    return {
      path: parents(all, at, indent, dash),
      kind: 'key',
      prefix,
      from: offset - prefix.length,
      to: offset,
      indent,
      siblings: siblingKeys(all, at, indent).filter((k) => k !== prefix),
    };
  }
  const valueMatch = /^(\s*)(-\s+)?([A-Za-z_$][\w$-]*)\s*:\s+([\w.-]*)$/.exec(before);
  if (valueMatch) {
    const indent = (valueMatch[1]?.length ?? 0) + (valueMatch[2]?.length ?? 0);
    const dash = valueMatch[2] === undefined ? undefined : (valueMatch[1]?.length ?? 0);
    const prefix = valueMatch[4] ?? '';
    return {
      path: parents(all, at, indent, dash),
      kind: 'value',
      key: valueMatch[3] as string,
      prefix,
      from: offset - prefix.length,
      to: offset,
      indent,
      siblings: [],
    };
  }
  return undefined;
}

/** The 1-based line of the field `path` names (`a.b[0].c`), or of its longest prefix found; undefined if none. */
export function lineOfPath(text: string, path: string): number | undefined {
  const want = path
    .replace(/\[(\d+)\]/g, '.[$1]')
    .split('.')
    .filter((s) => s !== '');
  if (want.length === 0) return undefined;
  const lines = text.split('\n');
  /** Open mappings and lists: their indentation and the path to them. */
  const stack: { indent: number; path: string[]; items: number }[] = [{ indent: -1, path: [], items: -1 }];
  let best: { line: number; depth: number } | undefined;
  lines.forEach((line, i) => {
    const s = shape(line);
    if (s === undefined) return;
    if (s.dash !== undefined) {
      while (stack.length > 1 && (stack.at(-1)?.indent ?? -1) > s.dash) stack.pop();
      // The list is owned by the nearest key at or left of the dash.
      let owner = stack.at(-1) as (typeof stack)[number];
      if (owner.indent === s.dash && stack.length > 1) {
        stack.pop();
        owner = stack.at(-1) as (typeof stack)[number];
      }
      const listOwner = stack.at(-1) as (typeof stack)[number];
      listOwner.items++;
      const itemPath = [...(stack.at(-1)?.path ?? []), `[${listOwner.items}]`];
      stack.push({ indent: s.dash, path: itemPath, items: -1 });
    } else {
      while (stack.length > 1 && (stack.at(-1)?.indent ?? -1) >= s.indent) stack.pop();
    }
    if (s.key === undefined) return;
    const here = [...(stack.at(-1)?.path ?? []), s.key];
    let depth = 0;
    while (depth < here.length && depth < want.length && here[depth] === want[depth]) depth++;
    if (depth === here.length && (best === undefined || depth > best.depth)) best = { line: i + 1, depth };
    stack.push({ indent: s.indent, path: here, items: -1 });
  });
  return best?.line;
}
