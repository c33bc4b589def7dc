/**
 * `tokenworks catalog [kind] [id]`: lists the sourced catalog (accelerators, fabrics, facilities, models) as
 * tables, or one entry with every figure and its source.
 * @module
 */
import { type Command, InvalidArgumentError } from '@commander-js/extra-typings';
import { TokenworksError } from '../../errors.js';
import { createOutput, type OutputStreams } from '../../node/output.js';

const KINDS = ['accelerators', 'fabrics', 'facilities', 'models'] as const;
type Kind = (typeof KINDS)[number];

function parseKind(value: string): Kind {
  const kind = KINDS.find((candidate) => candidate === value || candidate.startsWith(value.toLowerCase()));
  if (!kind) throw new InvalidArgumentError(`valid kinds: ${KINDS.join(', ')}`);
  return kind;
}

/** Adds the `catalog` command to `program`. */
export function registerCatalog(program: Command, streams: OutputStreams): void {
  program
    .command('catalog')
    .description('list the sourced catalog, or show one entry with the source of every figure')
    .argument('[kind]', `one of ${KINDS.join(', ')} (default: all)`, parseKind)
    .argument('[id]', 'an entry id or alias, e.g. h100')
    .option('--json', 'print entries with every figure, unit and source as JSON')
    .action(async (kind, id, options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: options.json ?? false, quiet: globals.quiet ?? false });
      const { entriesOf, findEntry, renderEntry, renderKind, title } = await import('../../report/catalog-report.js');
      if (id !== undefined) {
        if (kind === undefined)
          throw new TokenworksError('USAGE', 'give a kind before the id, e.g. catalog accelerators h100');
        const entry = findEntry(kind, id);
        output.result(renderEntry(entry), entry);
        return;
      }
      const kinds = kind ? [kind] : [...KINDS];
      const text = kinds.map((k) => `${title(k)}\n${renderKind(k)}`).join('\n\n');
      const data = Object.fromEntries(kinds.map((k) => [k, entriesOf(k)]));
      output.result(text, kind ? data[kind] : data);
    });
}
