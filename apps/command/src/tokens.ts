export const COMMAND_CONFIG = Symbol('COMMAND_CONFIG');
