import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeBeaconApi {
  url: string
  requests: string[]
  close(): Promise<void>
}

/** A stand-in for a beacon node's REST API on 127.0.0.1: each path answers `{ data }` from the map. */
export async function startFakeBeaconApi(routes: Record<string, unknown>): Promise<FakeBeaconApi> {
  const requests: string[] = []
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    requests.push(path)
    if (!(path in routes)) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":404,"message":"not found"}')
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: routes[path] }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
