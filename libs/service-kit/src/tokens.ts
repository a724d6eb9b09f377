export const KIT_OPTIONS = Symbol('dmp.kit.options');
export const EVENT_BUS = Symbol('dmp.kit.eventBus');
export const REDIS = Symbol('dmp.kit.redis');
export const CASSANDRA = Symbol('dmp.kit.cassandra');
