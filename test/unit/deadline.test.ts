import { setMaxListeners } from 'node:events'
import { type AddressInfo, connect, createServer, type Socket } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { deadlineSignal } from '../../src/deadline.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Resolves with what happened first: the signal's abort, or nothing within `ms`. */
function firstOf(signal: AbortSignal, ms: number): Promise<'aborted' | 'silent'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('silent'), ms)
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve('aborted')), { once: true })
  })
}

describe('deadlineSignal', () => {
  it('fires at its deadline even after a garbage collection while nothing else holds it', async () => {
    // Held only through the parent's listener list, as a queued request's deadline is: the case where
    // AbortSignal.any([parent, AbortSignal.timeout(ms)]) on Node 20 is collected and never fires.
    const parent = new AbortController()
    setMaxListeners(20, parent.signal) // 20 children on purpose: no leak warning
    const fired: string[] = []
    for (let i = 0; i < 20; i++) {
      deadlineSignal([parent.signal], 100).addEventListener('abort', (e) => {
        fired.push(((e.target as AbortSignal).reason as Error).name)
      })
    }
    await new Promise((resolve) => setTimeout(resolve, 10)) // off the stack that made them
    gc()
    await expect.poll(() => fired.length, { timeout: 5_000 }).toBe(20)
    expect(new Set(fired)).toEqual(new Set(['TimeoutError']))
  })

  it('follows any of its parents, with that parent’s reason', async () => {
    const a = new AbortController()
    const b = new AbortController()
    const signal = deadlineSignal([a.signal, b.signal], 60_000)
    const reason = new Error('gone')
    b.abort(reason)
    expect(signal.aborted).toBe(true)
    expect(signal.reason).toBe(reason)
  })

  it('is aborted at once when a parent already is', () => {
    const a = new AbortController()
    a.abort('early')
    expect(deadlineSignal([a.signal], 10).reason).toBe('early')
  })

  it('once cleared, neither its deadline nor its parents abort it', async () => {
    const parent = new AbortController()
    const signal = deadlineSignal([parent.signal], 20)
    signal.clear()
    const result = firstOf(signal, 200)
    parent.abort()
    expect(await result).toBe('silent')
  })

  it('after a stall of the process, fires only once the bytes that arrived in time were read', async () => {
    // A real socket pair on 127.0.0.1: the deadline bounds the wait for the client's bytes, which are read (and
    // clear the deadline) in the loop's poll phase, after its timers.
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve))
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1')
    const socket = await accepted
    try {
      const deadline = deadlineSignal([], 100)
      socket.once('data', () => deadline.clear())
      client.write('in time')
      // Written at once; then the process is busy past the deadline before its loop polls the socket.
      const until = performance.now() + 300
      while (performance.now() < until);
      expect(await firstOf(deadline, 500)).toBe('silent')
    } finally {
      client.destroy()
      socket.destroy()
      server.close()
    }
  })
})
