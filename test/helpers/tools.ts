import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

/**
 * Where an external tool a test needs is (promtool, chromium), or null. `.ci/run` installs them; elsewhere a test
 * may skip when one is missing, but never in CI (CI=true), where a missing tool must fail the run.
 */
export function findTool(name: string, candidates: string[] = []): string | null {
  for (const path of candidates) if (existsSync(path)) return path
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null
  } catch {
    return null
  }
}

/** Whether to skip a test for a missing tool: only outside CI, and saying so. */
export function skipWithout(name: string, path: string | null): boolean {
  if (path !== null) return false
  if (process.env.CI === 'true') return false // the test runs and fails on the missing tool
  console.warn(`skipping the ${name} tests: ${name} is not installed (.ci/run installs it; CI=true never skips)`)
  return true
}
