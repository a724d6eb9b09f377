export const REGISTRY_CONFIG = Symbol('dmp.registry.config');
