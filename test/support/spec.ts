/** A YAML spec loaded and resolved with its system and plan, for tests that estimate it directly. */
import { loadSpec } from '../../src/spec/load.js';
import type { ResolvedSpec } from '../../src/spec/resolve.js';

export function fullSpec(text: string): ResolvedSpec & Required<Pick<ResolvedSpec, 'system' | 'plan'>> {
  const result = loadSpec(text, 'yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  const { system, plan } = result.value;
  if (!system || !plan) throw new Error('spec needs system and plan');
  return { ...result.value, system, plan };
}
