/**
 * @module
 * `publish_validate` — checks what clients publish against a JSON Schema per namespace (with
 * [Ajv](https://ajv.js.org), formats from `ajv-formats`). A publication that does not match is
 * refused with error 107 and a short message naming the failing path (`/text must be string`);
 * the connection stays open. Namespaces without a schema, and server API publishes (trusted),
 * are not checked.
 *
 * Options (`"plugins": {"publish_validate": {...}}`):
 *
 * - `schemas` — `{"<namespace>": <JSON Schema>}`; the key `""` is for channels without a
 *   namespace (the top level). Draft-07 by default; a schema whose `$schema` names draft
 *   2020-12 is compiled as 2020-12.
 * - `schemas_dir` — a folder (relative to the working directory) of `<namespace>.json` files,
 *   `_.json` for the top level. A namespace may not have a schema in both places.
 *
 * ```json
 * { "namespaces": [{ "name": "chat", "allow_publish_for_subscriber": true }],
 *   "plugins": { "publish_validate": { "schemas": { "chat": {
 *     "type": "object", "required": ["text"], "additionalProperties": false,
 *     "properties": { "text": { "type": "string", "maxLength": 2000 } } } } } } }
 * ```
 *
 * Schemas are compiled once, at load: an invalid schema (or an unknown keyword or format — they
 * are usually typos) stops boot with an error naming the plugin and the namespace, and so does a
 * schema for a namespace the config does not define.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import formats from "ajv-formats";
import type { FormatsPlugin } from "ajv-formats";
import { ClientError, definePlugin, ErrorCode, type Plugin } from "sluice";

const NAME = "publish_validate";
const OPTION_KEYS = new Set(["schemas", "schemas_dir"]);
/** The file in `schemas_dir` for channels without a namespace (namespace names have ≥ 2 characters). */
const TOP_LEVEL_FILE = "_.json";
const MAX_MESSAGE = 190;

// ajv-formats is CommonJS: a default import is `module.exports` on one runtime and `exports.default`
// on the other (the same function); the cast covers both.
const addFormats =
  ((formats as unknown as { default?: FormatsPlugin }).default ?? formats) as unknown as FormatsPlugin;

type Schema = boolean | Record<string, unknown>;

/** Builds the plugin; every schema is compiled here, so a bad one fails boot. */
export default function publishValidate(options: Record<string, unknown> = {}): Plugin {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) fail(`unknown option "${key}" (expected "schemas", "schemas_dir")`);
  }
  const schemas = collectSchemas(options);
  const validators = new Map<string, ValidateFunction>();
  let draft7: Ajv | undefined;
  let draft2020: Ajv2020 | undefined;
  for (const [namespace, schema] of schemas) {
    const is2020 = typeof schema === "object" && typeof schema.$schema === "string" &&
      schema.$schema.includes("2020-12");
    const ajv = is2020
      ? (draft2020 ??= withFormats(new Ajv2020(AJV_OPTIONS)))
      : (draft7 ??= withFormats(new Ajv(AJV_OPTIONS)));
    try {
      validators.set(namespace, ajv.compile(schema));
    } catch (err) {
      fail(`invalid schema for ${label(namespace)}: ${(err as Error)?.message ?? err}`);
    }
  }

  return definePlugin({
    name: NAME,
    setup(ctx) {
      const known = new Set(["", ...ctx.config.namespaces.map((ns) => ns.name)]);
      for (const namespace of validators.keys()) {
        if (!known.has(namespace)) {
          fail(`schema for ${label(namespace)}, which the config does not define`);
        }
      }
      ctx.logger.debug("publication schemas compiled", {
        namespaces: [...validators.keys()].map((ns) => ns || "(top level)"),
      });
    },
    onPublish(event) {
      const validate = validators.get(event.namespace);
      if (!validate || validate(event.data)) return undefined;
      throw new ClientError(ErrorCode.BadRequest, describeErrors(validate.errors));
    },
  });
}

const AJV_OPTIONS = {
  allErrors: false, // the first problem is enough for a client, and cheaper
  strictSchema: true, // unknown keywords are typos: fail boot
  strictTypes: false,
  strictTuples: false,
  logger: false as const,
};

function withFormats<A extends Ajv | Ajv2020>(ajv: A): A {
  addFormats(ajv);
  return ajv;
}

function collectSchemas(options: Record<string, unknown>): Map<string, Schema> {
  const out = new Map<string, Schema>();
  const inline = options.schemas ?? {};
  if (inline === null || typeof inline !== "object" || Array.isArray(inline)) {
    fail(`"schemas" must be an object {"<namespace>": <JSON Schema>}`);
  }
  for (const [namespace, schema] of Object.entries(inline as Record<string, unknown>)) {
    out.set(namespace, checkSchemaValue(schema, label(namespace)));
  }
  const dir = options.schemas_dir;
  if (dir === undefined) return out;
  if (typeof dir !== "string" || dir === "") fail(`"schemas_dir" must be a folder path`);
  const folder = resolve(dir as string);
  let files: string[];
  try {
    files = readdirSync(folder).filter((f) => f.endsWith(".json")).sort();
  } catch (err) {
    fail(`cannot read schemas_dir ${folder}: ${(err as Error).message}`);
  }
  for (const file of files) {
    const namespace = file === TOP_LEVEL_FILE ? "" : file.slice(0, -".json".length);
    const path = join(folder, file);
    if (out.has(namespace)) fail(`${label(namespace)} has a schema in "schemas" and in ${path}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, "utf8"));
    } catch (err) {
      fail(`cannot read the schema for ${label(namespace)} from ${path}: ${(err as Error).message}`);
    }
    out.set(namespace, checkSchemaValue(parsed, `${label(namespace)} (${path})`));
  }
  return out;
}

function checkSchemaValue(schema: unknown, where: string): Schema {
  if (typeof schema === "boolean") return schema;
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) {
    fail(`invalid schema for ${where}: expected a JSON Schema object or a boolean`);
  }
  return schema as Record<string, unknown>;
}

function label(namespace: string): string {
  return namespace === "" ? "the top level (channels without a namespace)" : `namespace "${namespace}"`;
}

function fail(message: string): never {
  throw new Error(`${NAME}: ${message}`);
}

/** The first validation error as `/path message`, short enough for a reply (< 200 characters). */
export function describeErrors(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return "data does not match the schema";
  let message = e.message ?? "is invalid";
  const params = e.params as Record<string, unknown>;
  if (e.keyword === "additionalProperties" && typeof params.additionalProperty === "string") {
    message += ` (${JSON.stringify(params.additionalProperty)})`;
  } else if (e.keyword === "enum" && Array.isArray(params.allowedValues)) {
    message += ` (${params.allowedValues.map((v) => JSON.stringify(v)).join(", ")})`;
  }
  const path = e.instancePath || "/";
  // The path comes from the client's own keys: keep the whole message bounded.
  const text = `${path} ${message}`;
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text;
}
