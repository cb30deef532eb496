/**
 * Structured JSON logging: one object per line with `level`, `time`, `msg` and camelCase fields.
 *
 * `msg` is a constant phrase; everything variable goes into fields, so logs stay greppable.
 *
 * @module
 */

/** The log levels, from most to least verbose. */
export const LogLevel = { debug: 10, info: 20, warn: 30, error: 40 } as const;

/** The name of a log level. */
export type LogLevelName = keyof typeof LogLevel;

/** Fields attached to a log line. Errors are turned into `{ name, message, cause }`. */
export type LogFields = Record<string, unknown>;

/** Where a logger sends each finished line (without the trailing newline). */
export type LogSink = (line: string, level: LogLevelName) => void;

/** Options for {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Lines below this level are dropped. @default {"info"} */
  level?: LogLevelName;
  /** Receives each line. @default {writes to stderr} */
  sink?: LogSink;
  /** Returns the current time. @default {() => new Date()} */
  now?: () => Date;
  /** Fields added to every line. @default {{}} */
  fields?: LogFields;
}

/** A structured logger. */
export interface Logger {
  /** Logs per-event detail. */
  debug(msg: string, fields?: LogFields): void;
  /** Logs a state change, including rejected user configuration. */
  info(msg: string, fields?: LogFields): void;
  /** Logs a degraded but serving state. */
  warn(msg: string, fields?: LogFields): void;
  /** Logs something a human must act on. */
  error(msg: string, fields?: LogFields): void;
  /** Returns a logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
  /** Tells whether lines of `level` are written. */
  enabled(level: LogLevelName): boolean;
}

const encoder = new TextEncoder();

function stderrSink(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

/**
 * Turns an error into plain JSON, keeping its name, message and cause chain.
 *
 * @param err The value that was thrown.
 * @returns A JSON-friendly description.
 */
export function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  if (err.cause !== undefined) out.cause = serializeError(err.cause);
  return out;
}

function encodeFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? serializeError(value) : value;
  }
  return out;
}

/**
 * Creates a logger that writes one JSON object per line.
 *
 * @example Usage
 * ```ts
 * import { createLogger } from "./log.ts";
 * const lines: string[] = [];
 * const log = createLogger({ sink: (line) => lines.push(line), now: () => new Date(0) });
 * log.child({ gateway: "default/gw" }).info("Gateway reconciled", { durationMs: 3 });
 * ```
 *
 * @param options Level, sink, clock and base fields.
 * @returns The logger.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = LogLevel[options.level ?? "info"];
  const sink = options.sink ?? stderrSink;
  const now = options.now ?? (() => new Date());
  const base = options.fields ?? {};
  const write = (level: LogLevelName, msg: string, fields?: LogFields) => {
    if (LogLevel[level] < threshold) return;
    const record = { level, time: now().toISOString(), msg, ...encodeFields(base), ...encodeFields(fields ?? {}) };
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch {
      line = JSON.stringify({ level, time: record.time, msg, logError: "fields are not serializable" });
    }
    sink(line, level);
  };
  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    child: (fields) => createLogger({ level: options.level, sink, now, fields: { ...base, ...fields } }),
    enabled: (level) => LogLevel[level] >= threshold,
  };
}
