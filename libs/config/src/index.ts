export { ConfigError, loadConfig, loadConfigOrExit } from './load-config';
export { cassandraEnv, commonEnv, envBool, envInt, envList, kafkaEnv, redisEnv } from './schemas';
