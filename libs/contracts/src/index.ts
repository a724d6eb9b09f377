export { ContractError, decodeMessage, defineTopic, encodeMessage } from './topic';
export type { CleanupPolicy, EncodedMessage, TopicSpec } from './topic';
export { DataEvent, DeadLetter, DeviceEvent, Epi, TOPIC_CATALOGUE, Topics } from './topics';
