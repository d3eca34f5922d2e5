export { GossipError, GossipErrorCode, isGossipError } from './errors.js'
export { GossipCodec, type TopicInfo } from './gossipCodec.js'
export {
  GOSSIP_SERVICE_DEFAULTS,
  GossipService,
  type GossipServiceModules,
  type GossipServiceOpts,
  type GossipSubRouter,
} from './gossipService.js'
export { computeMessageId, GOSSIP_MSG_ID_BYTES, messageIdToString } from './messageId.js'
export { createGossipMetrics, type GossipMetrics } from './metrics.js'
export { GOSSIPSUB_PARAMS_DEFAULTS, GOSSIPSUB_SPEC, gossipsubOptions, MAX_GOSSIP_RPC_BYTES } from './params.js'
export { DEFAULT_SUBSCRIBE, parseSubscribeSpec, type SubscribeSpec, subscribedSubnets } from './subscribeSpec.js'
export {
  formatTopic,
  type GossipTopic,
  parseTopic,
  parseTopicName,
  TOPIC_KINDS,
  type TopicKind,
  type TopicName,
  topicNameString,
} from './topics.js'
export { GossipValidator } from './validation.js'
export type { IgnoreReason, RejectReason, Verdict } from './verdict.js'
