/** Help is wrapped at a fixed width so that it reads the same everywhere (and docs/cli.md can quote it). */
export const HELP_WIDTH = 100;
