export { ContractError, decodeMessage, defineTopic, encodeMessage } from './topic';
export type { CleanupPolicy, EncodedMessage, TopicSpec } from './topic';
export {
  COMMAND_TOPIC,
  CommandResult,
  commandTopicFor,
  DataEvent,
  DataSource,
  DeadLetter,
  DeviceCommand,
  DeviceEvent,
  DeviceState,
  DeviceStateEvent,
  Epi,
  TOPIC_CATALOGUE,
  Topics,
} from './topics';
export { BootstrapConfig, BootstrapServerUri } from './bootstrap';
