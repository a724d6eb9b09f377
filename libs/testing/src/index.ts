export { exitOf, ROOT, spawnTs, stack, uniqueName, waitUntil } from './stack';
export { type Service, serviceEnv, spawnService, startStorage } from './services';
