// Process-wide setup that must run before libp2p and SSZ load: imported first by every entry point and as the
// test setup file.
import { setHasher } from '@chainsafe/persistent-merkle-tree'
import { hasher as hashtree } from '@chainsafe/persistent-merkle-tree/hasher/hashtree'

// Block roots (by-root checks, the devnet's chain) hash ~100 KB per block: the native batch hasher Lodestar uses
// is several times faster than the default pure-JS one.
setHasher(hashtree)

// Node 20 lacks Promise.withResolvers, which libp2p v3 (it-queue, @libp2p/utils, yamux) calls.
interface Resolvers<T> {
  promise: Promise<T>
  resolve: (value: T | PromiseLike<T>) => void
  reject: (reason?: unknown) => void
}

const P = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> }
if (typeof P.withResolvers !== 'function') {
  P.withResolvers = <T>(): Resolvers<T> => {
    let resolve!: Resolvers<T>['resolve']
    let reject!: Resolvers<T>['reject']
    const promise = new Promise<T>((res, rej) => {
      resolve = res
      reject = rej
    })
    return { promise, resolve, reject }
  }
}
