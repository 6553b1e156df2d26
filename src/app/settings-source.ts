import { pathExists } from '../common/fs.js';
import { isAbsolute, join } from 'node:path';
import { readYamlFile } from '../common/yaml-file.js';
import {
  CONFIG_FILE_ENV,
  DEFAULT_CONFIG_FILE,
  resolveSettings,
  type FlagValues,
  type ResolvedSettings,
  type SettingsInput,
} from '../model/settings.js';

export interface SettingsContext {
  cwd: string;
  env: Record<string, string | undefined>;
}

export type ConfigFileLayer = SettingsInput['file'];

/**
 * Finds and reads the config file: `--config`, else `$MESH_LOCAL_CONFIG`, else `./mesh-local.yaml`
 * when it exists. An explicitly named file must exist.
 */
export async function readConfigFile(flags: { config?: string }, context: SettingsContext): Promise<ConfigFileLayer> {
  const named = flags.config ?? context.env[CONFIG_FILE_ENV];
  let configFile: string | undefined;
  if (named) {
    configFile = isAbsolute(named) ? named : join(context.cwd, named);
  } else {
    const candidate = join(context.cwd, DEFAULT_CONFIG_FILE);
    if (await pathExists(candidate)) configFile = candidate;
  }
  return configFile ? { path: configFile, data: await readYamlFile(configFile) } : undefined;
}

/** Reads the config file and resolves all layers. */
export async function loadSettings(flags: FlagValues & { config?: string }, context: SettingsContext): Promise<ResolvedSettings> {
  return resolveSettings({ file: await readConfigFile(flags, context), env: context.env, flags });
}

