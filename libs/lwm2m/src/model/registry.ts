import * as fs from 'node:fs';
import * as path from 'node:path';
import { ObjectModelError } from '../errors';
import { parseDdf } from './ddf-parser';
import type { ModelProvider, ObjectModel } from './types';

/** Ids of the DDF files shipped in `libs/lwm2m/models/`. */
export const SHIPPED_OBJECT_IDS: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 19, 3303, 3304, 3311, 3316, 3323, 3336];

/** Environment variable that overrides where the shipped models are looked up. */
export const MODELS_DIR_ENV = 'DMP_LWM2M_MODELS_DIR';

/**
 * Directory holding the shipped DDF files: `$DMP_LWM2M_MODELS_DIR`, else `models/` next to
 * `src/` (works from sources and from `dist/libs/lwm2m/src` if the build copies
 * `libs/lwm2m/models` alongside), else `<cwd>/libs/lwm2m/models`.
 */
export function shippedModelsDir(): string {
  const candidates = [
    process.env[MODELS_DIR_ENV],
    path.resolve(__dirname, '..', '..', 'models'),
    path.resolve(process.cwd(), 'libs', 'lwm2m', 'models'),
  ].filter((c): c is string => typeof c === 'string' && c !== '');
  for (const c of candidates) {
    if (fs.existsSync(path.join(c, '3.xml'))) return c;
  }
  throw new ObjectModelError('IO', `shipped LwM2M models not found (tried ${candidates.join(', ')}); set ${MODELS_DIR_ENV}`);
}

export interface LoadDirectoryResult {
  loaded: ObjectModel[];
  /** Files that failed, with the typed error; loading continues past them. */
  errors: { file: string; error: ObjectModelError }[];
}

/**
 * Object models by id. `ObjectModelRegistry.default()` holds the shipped models, loaded
 * synchronously once and cached; `new ObjectModelRegistry()` starts empty. Later
 * additions with the same id replace earlier ones.
 */
export class ObjectModelRegistry implements ModelProvider {
  private static shared: ObjectModelRegistry | undefined;
  private readonly models = new Map<number, ObjectModel>();

  constructor(models: Iterable<ObjectModel> = []) {
    for (const m of models) this.add(m);
  }

  /** The process-wide registry with the shipped models (loaded on first call). Do not mutate it: use `copy()`. */
  static default(): ObjectModelRegistry {
    if (!ObjectModelRegistry.shared) {
      const r = new ObjectModelRegistry();
      const dir = shippedModelsDir();
      for (const id of SHIPPED_OBJECT_IDS) r.loadFile(path.join(dir, `${id}.xml`));
      ObjectModelRegistry.shared = r;
    }
    return ObjectModelRegistry.shared;
  }

  /** A new registry with the shipped models plus (optionally) more. */
  static withDefaults(extra: Iterable<ObjectModel> = []): ObjectModelRegistry {
    const r = ObjectModelRegistry.default().copy();
    for (const m of extra) r.add(m);
    return r;
  }

  copy(): ObjectModelRegistry {
    return new ObjectModelRegistry(this.models.values());
  }

  add(model: ObjectModel): this {
    this.models.set(model.id, model);
    return this;
  }

  getObjectModel(objectId: number): ObjectModel | undefined {
    return this.models.get(objectId);
  }

  has(objectId: number): boolean {
    return this.models.has(objectId);
  }

  ids(): number[] {
    return [...this.models.keys()].sort((a, b) => a - b);
  }

  all(): ObjectModel[] {
    return this.ids().map((id) => this.models.get(id) as ObjectModel);
  }

  /** Parse DDF XML text and add its object(s). Throws ObjectModelError. */
  loadXml(xml: string | Uint8Array, source?: string): ObjectModel[] {
    const ms = parseDdf(xml, source);
    for (const m of ms) this.add(m);
    return ms;
  }

  /** Read + parse one file. Throws ObjectModelError (IO / MALFORMED_XML / INVALID_MODEL). */
  loadFile(file: string): ObjectModel[] {
    let xml: Buffer;
    try {
      xml = fs.readFileSync(file);
    } catch (e) {
      throw new ObjectModelError('IO', (e as Error).message, file);
    }
    return this.loadXml(xml, file);
  }

  /**
   * Load every `*.xml` file of a directory (non-recursive). Bad files are reported in
   * `errors` and skipped; a missing directory throws ObjectModelError('IO').
   */
  loadDirectory(dir: string): LoadDirectoryResult {
    let names: string[];
    try {
      names = fs.readdirSync(dir).filter((n) => n.toLowerCase().endsWith('.xml')).sort();
    } catch (e) {
      throw new ObjectModelError('IO', (e as Error).message, dir);
    }
    const result: LoadDirectoryResult = { loaded: [], errors: [] };
    for (const n of names) {
      const file = path.join(dir, n);
      try {
        result.loaded.push(...this.loadFile(file));
      } catch (e) {
        if (e instanceof ObjectModelError) result.errors.push({ file, error: e });
        else result.errors.push({ file, error: new ObjectModelError('INVALID_MODEL', String(e), file) });
      }
    }
    return result;
  }
}
