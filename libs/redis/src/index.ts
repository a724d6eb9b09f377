export { createRedis, isRedisReady, type Redis } from './client';
export { defineScript, type LuaScript, ScriptRunner, type ScriptResult } from './scripts';
