/**
 * Debian packages the tests drive beyond chromium and prometheus (redis-server for the queue runner,
 * victoria-metrics for the fleet telemetry tests): each installed with apt-get when its binary is missing and the
 * process runs as root (CI on a fresh machine). Vitest's global setup calls {@link ensureDebianPackage} once per
 * package, one after the other; each test file still checks {@link debianPackageUnavailable} and skips with the
 * reason when the package cannot be had (not root, no network).
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** A Debian package and the binary that shows it is installed. */
export interface DebianPackage {
  readonly name: string;
  readonly binary: string;
}

export const REDIS: DebianPackage = { name: 'redis-server', binary: '/usr/bin/redis-server' };
export const VICTORIA_METRICS: DebianPackage = { name: 'victoria-metrics', binary: '/usr/bin/victoria-metrics' };

/** Why `pkg` cannot be used here, or undefined when it is installed or installable (root). */
export function debianPackageUnavailable(pkg: DebianPackage): string | undefined {
  if (existsSync(pkg.binary)) return undefined;
  if (process.getuid?.() === 0) return undefined;
  return `${pkg.binary} is missing and this is not root: install it with "sudo apt-get install -y ${pkg.name}"`;
}

/** Installs `pkg` with apt-get when its binary is missing and we are root; throws with the fix otherwise. */
export function ensureDebianPackage(pkg: DebianPackage): void {
  if (existsSync(pkg.binary)) return;
  const reason = debianPackageUnavailable(pkg);
  if (reason !== undefined) throw new Error(reason);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // The package lists may be missing on a fresh machine (or stale): update once, then install.
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', pkg.name], { stdio: 'inherit', env });
  if (!existsSync(pkg.binary)) throw new Error(`apt-get installed ${pkg.name}, but ${pkg.binary} is missing`);
}
