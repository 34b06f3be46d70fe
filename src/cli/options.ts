/**
 * Flag parsing and validation, before any remote call. Commander argument parsers throw
 * `InvalidArgumentError`, which commander prints naming the flag; values that arrive another way
 * (environment, the Terraform query) throw a ValidationError naming where they came from.
 */
import { InvalidArgumentError, Option } from "commander";
import type { Command } from "commander";
import { ValidationError } from "../api/errors";
import { CLIENT_INFO_FIELDS, ID_ALLOWED, ID_PATTERN } from "../api/schemas";
import type { ClientOptions } from "../api/types";
import type { Engine } from "../core/types";
import type { OutputStream } from "./context";

export const ENGINES = ["dcs", "geminidb"] as const;
export const OUTPUTS = ["json", "table", "markdown"] as const;
export type OutputFormat = (typeof OUTPUTS)[number];
/** What the commands that only list (nodes, list) print: they have no summary to render. */
export const LIST_OUTPUTS = ["json", "table"] as const;

/** The options every command that calls the API accepts (`--engine` … `--quiet`). */
export interface CommonFlags {
  engine: Engine;
  region?: string;
  projectId?: string;
  endpoint?: string;
  geminidbEndpoint?: string;
  output?: OutputFormat;
  quiet?: boolean;
  /** `scan` and `purge`: append the Markdown summary to `$GITHUB_STEP_SUMMARY`. */
  summary?: boolean;
  /** `scan` and `purge`: write the self-contained HTML report to this file. */
  report?: string;
}

export interface CommonOptionsSettings {
  /** Offer `--output markdown`, `--summary` and `--report` (the commands with a result to summarize). */
  reports?: boolean;
}

/** Adds the common flags to a command, in the same order everywhere so that `--help` reads alike. */
export function addCommonOptions(command: Command, settings: CommonOptionsSettings = {}): Command {
  const outputs = settings.reports ? OUTPUTS : LIST_OUTPUTS;
  command
    .addOption(new Option("--engine <engine>", "the service of the instance").choices(ENGINES).default("dcs"))
    .option("--region <region>", "region, e.g. eu-west-101 (default: HW_REGION_NAME)")
    .option("--project-id <id>", "project id (default: HW_PROJECT_ID)")
    .option("--endpoint <url>", "DCS endpoint override (default: HW_DCS_ENDPOINT, else from the region)")
    .option("--geminidb-endpoint <url>", "GeminiDB endpoint override (default: HW_GEMINIDB_ENDPOINT)")
    .addOption(
      new Option(
        "--output <format>",
        `${outputs.join(", ").replace(/, (\w+)$/, " or $1")} (default: table on a terminal, else json)`,
      ).choices(outputs),
    );
  if (settings.reports) {
    command
      .option("--summary", "also append the Markdown summary to the file named by $GITHUB_STEP_SUMMARY")
      .option("--report <file.html>", "also write a self-contained HTML report with charts to this file");
  }
  return command.option("--quiet", "no progress on stderr");
}

/** `--output` when given; otherwise a table for a person at a terminal and JSON for a pipe. */
export function outputFormat(flags: { output?: OutputFormat }, stdout: OutputStream): OutputFormat {
  return flags.output ?? (stdout.isTTY ? "table" : "json");
}

export function clientOptionsOf(flags: CommonFlags, env: Record<string, string | undefined>): ClientOptions {
  return {
    env,
    ...(flags.region ? { region: flags.region } : {}),
    ...(flags.projectId ? { projectId: flags.projectId } : {}),
    ...(flags.endpoint ? { endpoint: flags.endpoint } : {}),
    ...(flags.geminidbEndpoint ? { geminidbEndpoint: flags.geminidbEndpoint } : {}),
  };
}

/** Throws a ValidationError unless the value is an instance or node id (what the API accepts in a path). */
export function checkId(value: string, field: string): string {
  if (!ID_PATTERN.test(value))
    throw new ValidationError(field, `"${printable(value)}" is not an id`, ID_ALLOWED);
  return value;
}

/** Control characters shown escaped, so that a hostile value cannot break the one-line message. */
export function printable(value: string): string {
  const escaped = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  return escaped.slice(1, -1);
}

/** Commander parser for an id argument. */
export function idArgument(value: string): string {
  if (!ID_PATTERN.test(value)) throw new InvalidArgumentError(`must be ${ID_ALLOWED}.`);
  return value;
}

/** The items of an `a,b` list, trimmed, empty ones dropped. */
function commaList(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Commander parser for a repeatable `--node <id>` that also takes `a,b`. */
export function collectIds(value: string, previous: string[] | undefined): string[] {
  const ids = commaList(value);
  if (ids.length === 0) throw new InvalidArgumentError(`must be ${ID_ALLOWED}.`);
  for (const id of ids) idArgument(id);
  return [...(previous ?? []), ...ids];
}

/** Parses a whole number within bounds, or undefined with the reason. */
export function parseWholeNumber(text: string, min: number, max: number): number | undefined {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return undefined;
  const n = Number(trimmed);
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
}

export function integerWords(min: number, max: number): string {
  return max === Number.MAX_SAFE_INTEGER
    ? `a whole number >= ${min}`
    : `a whole number from ${min} to ${max}`;
}

/** Commander parser factory for an integer flag. */
export function integerArgument(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = parseWholeNumber(value, min, max);
    if (n === undefined) throw new InvalidArgumentError(`must be ${integerWords(min, max)}.`);
    return n;
  };
}

/** The same for values from the environment or a query: a ValidationError naming the source. */
export function integerFrom(
  value: string,
  field: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const n = parseWholeNumber(value, min, max);
  if (n === undefined)
    throw new ValidationError(field, `"${printable(value)}" is not valid`, integerWords(min, max));
  return n;
}

const TRUE_WORDS = ["true", "1", "yes"];
const FALSE_WORDS = ["false", "0", "no"];

export function booleanFrom(value: string, field: string): boolean {
  const v = value.trim().toLowerCase();
  if (TRUE_WORDS.includes(v)) return true;
  if (FALSE_WORDS.includes(v)) return false;
  throw new ValidationError(field, `"${printable(value)}" is not a boolean`, "true or false");
}

export function choiceFrom<T extends string>(value: string, field: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new ValidationError(field, `"${printable(value)}" is not allowed`, `one of: ${choices.join(", ")}`);
}

/** Node ids given as `a,b` or as a JSON array of strings (as Terraform's `jsonencode` would). */
export function idListFrom(value: string, field: string): string[] {
  const text = value.trim();
  let items: unknown[];
  if (text.startsWith("[")) {
    try {
      const parsed: unknown = JSON.parse(text);
      items = Array.isArray(parsed) ? parsed : [parsed];
    } catch {
      throw new ValidationError(
        field,
        "is not a JSON array",
        "a JSON array of ids or a comma-separated list",
      );
    }
  } else {
    items = commaList(text);
  }
  return items.map((item, i) => {
    if (typeof item !== "string") throw new ValidationError(`${field}[${i}]`, "is not a string", ID_ALLOWED);
    return checkId(item, `${field}[${i}]`);
  });
}

export const SORT_FIELDS = CLIENT_INFO_FIELDS;

/** Commander parser for a repeatable flag whose values are taken as typed (`--user`, `--name`). */
export function collectValues(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Commander parser for a repeatable flag that also takes `a,b` (`--client`, `--cmd`: no commas inside). */
export function collectList(value: string, previous: string[] | undefined): string[] {
  const items = commaList(value);
  if (items.length === 0) throw new InvalidArgumentError("must not be empty.");
  return [...(previous ?? []), ...items];
}

/** Commander parser factory for a repeatable integer flag that also takes `a,b` (`--db`). */
export function collectIntegers(
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): (value: string, previous: number[] | undefined) => number[] {
  const one = integerArgument(min, max);
  return (value, previous) => [
    ...(previous ?? []),
    ...value.split(",").map((item) => {
      try {
        return one(item);
      } catch {
        throw new InvalidArgumentError(`"${printable(item)}" is not ${integerWords(min, max)}.`);
      }
    }),
  ];
}
