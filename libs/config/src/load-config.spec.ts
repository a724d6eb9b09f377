import { z } from 'zod';
import { ConfigError, loadConfig } from './load-config';
import { cassandraEnv, commonEnv, envBool, kafkaEnv, redisEnv } from './schemas';

const schema = z.object({ ...commonEnv, ...kafkaEnv, ...redisEnv, ...cassandraEnv, FEATURE: envBool(false) });

describe('loadConfig', () => {
  it('applies defaults that match the local stack', () => {
    const cfg = loadConfig('svc', schema, {});
    expect(cfg.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(cfg.REDIS_URL).toBe('redis://127.0.0.1:6380');
    expect(cfg.CASSANDRA_CONTACT_POINTS).toEqual(['127.0.0.1:9042']);
    expect(cfg.HTTP_PORT).toBe(0);
    expect(cfg.FEATURE).toBe(false);
  });

  it('coerces and splits values', () => {
    const cfg = loadConfig('svc', schema, { HTTP_PORT: '8081', KAFKA_BROKERS: 'a:1, b:2', FEATURE: 'yes' });
    expect(cfg.HTTP_PORT).toBe(8081);
    expect(cfg.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(cfg.FEATURE).toBe(true);
  });

  it.each([
    ['HTTP_PORT', 'eighty', /HTTP_PORT/],
    ['HTTP_PORT', '70000', /HTTP_PORT/],
    ['KAFKA_BROKERS', 'localhost', /KAFKA_BROKERS.*host:port/],
    ['REDIS_URL', 'http://x:1', /REDIS_URL/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL/],
    ['CASSANDRA_KEYSPACE', 'Bad-Name', /CASSANDRA_KEYSPACE.*identifier/],
  ])('names the bad variable %s=%s', (name, value, pattern) => {
    expect(() => loadConfig('svc', schema, { [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig('svc', schema, { [name]: value })).toThrow(pattern);
  });

  it('names a missing required variable', () => {
    const s = z.object({ API_TOKEN: z.string().min(16) });
    try {
      loadConfig('api', s, {});
      throw new Error('expected ConfigError');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).problems).toEqual([{ variable: 'API_TOKEN', message: 'is required but not set' }]);
      expect((e as Error).message).toMatch(/^api: invalid configuration:\n {2}- API_TOKEN: is required but not set$/);
    }
  });

  it('reports every problem at once', () => {
    try {
      loadConfig('svc', schema, { HTTP_PORT: 'x', LOG_LEVEL: 'y' });
      throw new Error('expected ConfigError');
    } catch (e) {
      expect((e as ConfigError).problems.map((p) => p.variable).sort()).toEqual(['HTTP_PORT', 'LOG_LEVEL']);
    }
  });
});
