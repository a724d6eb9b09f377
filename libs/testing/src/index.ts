export { exitOf, ROOT, spawnTs, stack, uniqueName, waitUntil } from './stack';
