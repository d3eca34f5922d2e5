import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { envName, optionsFor } from '../../src/config/options.js'
import { DAEMON_NODE_OPTIONS } from '../../src/gcTuning.js'

// There is no Docker daemon in CI, so the image is checked two ways: the Dockerfile's invariants are pinned
// here (always), and scripts/docker-smoke.sh rebuilds the runtime stage without Docker and runs it (opt-in:
// CONTOWER_DOCKER_SMOKE=1, since it does a full `npm ci` from the registry).

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SCRIPT = join(ROOT, 'scripts', 'docker-smoke.sh')

interface Instruction {
  keyword: string
  args: string
}

/** The Dockerfile's instructions by stage, parsed as Docker does: comment lines dropped, continuations joined. */
function parseDockerfile(text: string): Instruction[][] {
  const lines: string[] = []
  let pending = ''
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue
    const line = raw.trim()
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `
      continue
    }
    const joined = (pending + line).trim()
    pending = ''
    if (joined) lines.push(joined)
  }
  const stages: Instruction[][] = []
  for (const line of lines) {
    const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(line)!
    const instruction = { keyword: keyword.toUpperCase(), args }
    if (instruction.keyword === 'FROM') stages.push([])
    stages.at(-1)?.push(instruction)
  }
  return stages
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
const stages = parseDockerfile(dockerfile)
const runtime = stages.at(-1) ?? []
const build = stages[0] ?? []

const all = (stage: Instruction[], keyword: string) => stage.filter((i) => i.keyword === keyword).map((i) => i.args)
const last = (stage: Instruction[], keyword: string) => all(stage, keyword).at(-1)

/** ENV lines as NAME → value. The smoke script reads them too, so each must be one unquoted NAME=value. */
function runtimeEnv(): Map<string, string> {
  const env = new Map<string, string>()
  for (const args of all(runtime, 'ENV')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=([^\s"']*)$/.exec(args)
    if (!match) throw new Error(`ENV must be a single unquoted NAME=value (scripts/docker-smoke.sh parses it): ${args}`)
    env.set(match[1], match[2])
  }
  return env
}

describe('Dockerfile', () => {
  it('builds in one stage and runs in another, both on node:22-bookworm-slim (the LTS every dependency accepts)', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2)
    for (const stage of stages) expect(stage[0].args).toMatch(/^node:22-bookworm-slim(\s|$)/)
    const buildRuns = all(build, 'RUN').join('\n')
    expect(buildRuns).toMatch(/\bnpm ci\b/)
    expect(buildRuns).toMatch(/\bnpm run build\b/)
  })

  it('installs only production dependencies in the runtime stage, without running the build', () => {
    const installs = all(runtime, 'RUN').filter((r) => /\bnpm (ci|install|i)\b/.test(r))
    expect(installs).toHaveLength(1)
    expect(installs[0]).toMatch(/\bnpm ci\b/)
    expect(installs[0]).toContain('--omit=dev')
    expect(installs[0]).toContain('--ignore-scripts')
    expect(all(runtime, 'RUN').join('\n')).not.toMatch(/npm run build|\btsc\b/)
  })

  it('copies dist/ from the build stage and bin/ and config/, never src/ or node_modules/', () => {
    const copies = all(runtime, 'COPY')
    expect(copies.some((c) => /^--from=build\s+\/app\/dist\s+\.\/dist$/.test(c))).toBe(true)
    expect(copies).toContain('bin ./bin')
    expect(copies).toContain('config ./config')
    for (const c of copies) expect(c).not.toMatch(/(^|\s)(\.\/)?(src|node_modules)(\/|\s|$)|^\.\s/)
    expect(last(runtime, 'WORKDIR')).toBe('/app')
  })

  it('runs as a non-root user', () => {
    const user = last(runtime, 'USER')
    expect(user).toBeDefined()
    const [name, group] = user!.split(':')
    expect(['root', '0']).not.toContain(name)
    if (group !== undefined) expect(['root', '0']).not.toContain(group)
  })

  it('keeps state in VOLUME /data and points the data dir at it', () => {
    const volumes = all(runtime, 'VOLUME').flatMap((v) => (v.startsWith('[') ? JSON.parse(v) : v.split(/\s+/)))
    expect(volumes).toContain('/data')
    expect(runtimeEnv().get('CONTOWER_DATA_DIR')).toBe('/data')
  })

  it('listens on all interfaces inside the container, metrics included', () => {
    const env = runtimeEnv()
    expect(env.get('CONTOWER_LISTEN_ADDRESS')).toBe('0.0.0.0')
    expect(env.get('CONTOWER_METRICS_ADDRESS')).toBe('0.0.0.0')
    expect(env.get('CONTOWER_LOG_FORMAT')).toBe('json')
  })

  it('exposes the p2p TCP and UDP ports and the metrics port that ENV configures', () => {
    const exposed = all(runtime, 'EXPOSE')
      .flatMap((e) => e.split(/\s+/))
      .map((p) => (p.includes('/') ? p : `${p}/tcp`))
    const env = runtimeEnv()
    expect(env.get('CONTOWER_PORT')).toBe('9000')
    expect(env.get('CONTOWER_METRICS_PORT')).toBe('8008')
    expect(exposed).toEqual(expect.arrayContaining(['9000/tcp', '9000/udp', '8008/tcp']))
  })

  it('sets only CONTOWER_* variables that `contower start` reads', () => {
    const known = new Set(optionsFor('start').map((o) => envName(o.name)))
    const names = [...runtimeEnv().keys()].filter((n) => n.startsWith('CONTOWER_'))
    expect(names.length).toBeGreaterThan(0)
    for (const name of names) expect(known, `${name} is not an option of contower start`).toContain(name)
  })

  it('health-checks GET /health with node (no curl in slim images), in exec form', () => {
    const healthcheck = last(runtime, 'HEALTHCHECK')
    expect(healthcheck).toBeDefined()
    const cmd = /\bCMD\s+(\[.*\])$/.exec(healthcheck!)
    expect(cmd, 'HEALTHCHECK must use the exec form CMD [...]').not.toBeNull()
    const argv: string[] = JSON.parse(cmd![1])
    expect(argv[0]).toBe('node')
    const script = argv.join(' ')
    expect(script).toMatch(/\/health['"`]/)
    expect(script).toContain('127.0.0.1')
    expect(script).toMatch(/CONTOWER_METRICS_PORT|8008/)
  })

  it('starts the daemon with node directly (and its node options) so that it gets SIGTERM', () => {
    expect(JSON.parse(last(runtime, 'ENTRYPOINT')!)).toEqual(['node', ...DAEMON_NODE_OPTIONS, '/app/bin/contower.js'])
    expect(JSON.parse(last(runtime, 'CMD')!)).toEqual(['start'])
    expect(last(runtime, 'STOPSIGNAL')).toBe('SIGTERM')
  })

  it('records the commit from a build ARG in BUILD_COMMIT', () => {
    expect(all(runtime, 'ARG').some((a) => /^BUILD_COMMIT\b/.test(a))).toBe(true)
    expect(all(runtime, 'RUN').some((r) => /\$\{?BUILD_COMMIT\}?"?\s*>\s*BUILD_COMMIT\b/.test(r))).toBe(true)
  })
})

describe('.dockerignore', () => {
  it('keeps local installs, builds, git and identity keys out of the build context', () => {
    const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
    expect(patterns).toEqual(expect.arrayContaining(['dist', '.git', '.contower', 'BUILD_COMMIT']))
    expect(patterns.some((p) => p === 'node_modules' || p === '**/node_modules')).toBe(true)
  })
})

describe('scripts/docker-smoke.sh', () => {
  it('is valid bash', () => {
    const result = spawnSync('bash', ['-n', SCRIPT], { encoding: 'utf8' })
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
  })

  // A full `npm ci --omit=dev` from the registry, so opt-in.
  it.runIf(process.env.CONTOWER_DOCKER_SMOKE === '1')(
    'reproduces the image without Docker: healthy as non-root, key mode 0600, exit 0 on SIGTERM',
    () => {
      const result = spawnSync('bash', [SCRIPT], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 230_000,
        killSignal: 'SIGTERM',
      })
      const output = `${result.stdout}${result.stderr}`
      expect(result.status, output).toBe(0)
      expect(result.stdout).toMatch(/^PASS docker smoke$/m)
      expect(result.stdout).not.toMatch(/^FAIL/m)
    },
    240_000,
  )
})
