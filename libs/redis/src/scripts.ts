import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface LuaScript {
  /** Unique name, for logs and errors. */
  readonly name: string;
  /** Number of KEYS the script takes (the rest of the arguments are ARGV). */
  readonly numberOfKeys: number;
  readonly source: string;
}

export type ScriptResult = string | number | null | Buffer | ScriptResult[];

export function defineScript(name: string, numberOfKeys: number, source: string): LuaScript {
  return Object.freeze({ name, numberOfKeys, source });
}

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

/**
 * Loads Lua scripts once with SCRIPT LOAD and runs them with EVALSHA. When Redis has
 * lost its script cache (restart, failover, SCRIPT FLUSH) the NOSCRIPT error triggers
 * one reload and retry, so callers never see it.
 */
export class ScriptRunner {
  private readonly shas = new Map<string, string>();

  constructor(
    private readonly redis: Redis,
    private readonly scripts: readonly LuaScript[],
  ) {
    for (const s of scripts) {
      if (this.shas.has(s.name)) throw new Error(`duplicate script name ${s.name}`);
      this.shas.set(s.name, sha1(s.source));
    }
  }

  /** SCRIPT LOAD every script; checks that Redis computed the same SHA. */
  async load(): Promise<void> {
    for (const s of this.scripts) await this.loadOne(s);
  }

  private async loadOne(s: LuaScript): Promise<void> {
    const sha = (await this.redis.script('LOAD', s.source)) as string;
    if (sha !== this.shas.get(s.name)) throw new Error(`script ${s.name}: Redis returned SHA ${sha}`);
  }

  sha(script: LuaScript): string {
    const sha = this.shas.get(script.name);
    if (!sha) throw new Error(`script ${script.name} is not registered with this runner`);
    return sha;
  }

  async run(script: LuaScript, keys: readonly string[], args: ReadonlyArray<string | number | Buffer>): Promise<ScriptResult> {
    if (keys.length !== script.numberOfKeys) {
      throw new Error(`script ${script.name} takes ${script.numberOfKeys} keys, got ${keys.length}`);
    }
    const sha = this.sha(script);
    try {
      return (await this.redis.evalsha(sha, keys.length, ...keys, ...args)) as ScriptResult;
    } catch (e) {
      if (!String((e as Error).message).startsWith('NOSCRIPT')) throw e;
      await this.loadOne(script);
      return (await this.redis.evalsha(sha, keys.length, ...keys, ...args)) as ScriptResult;
    }
  }
}
