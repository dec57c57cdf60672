/**
 * @module
 * Lua scripts that keep each channel's history and position consistent in Redis: a publication
 * gets its offset, enters the stream and is published in one atomic step.
 *
 * Keys per channel: `<prefix>.stream.<ch>` (a Redis stream with entry ids `<offset>-0`, fields
 * `h` header JSON and `d` data JSON) and `<prefix>.meta.<ch>` (a hash: `e` epoch, `s` top offset).
 * PUB/SUB messages on `<prefix>.client.<ch>` are `p\n<offset>\n<epoch>\n<header>\n<data>` for
 * publications, `j\n<info>` / `l\n<info>` for join/leave (JSON never contains a raw newline).
 */

/**
 * The epoch of a channel that has no stream yet: derived from a salt kept in Redis, the channel
 * and the current window of `meta ttl` seconds (Redis' clock), so that a history read creates
 * nothing and still reports the epoch the first publication will give the stream. A stream whose
 * meta expired lived at least one window, so its successor gets another epoch; a lost Redis
 * (new salt) changes every epoch. See `derivedEpoch` in src/broker/memory.ts for the reasoning.
 */
const DERIVED_EPOCH = `
local function derived_epoch(salt_key, fresh_salt, channel, window_seconds)
  local salt = redis.call("get", salt_key)
  if not salt then
    salt = fresh_salt
    redis.call("set", salt_key, salt)
  end
  local window = 0
  if window_seconds > 0 then window = math.floor(tonumber(redis.call("time")[1]) / window_seconds) end
  return string.sub(redis.sha1hex(salt .. "\\0" .. channel .. "\\0" .. window), 1, 8)
end
`;

/**
 * KEYS: stream, meta, idempotency key ("" for none), epoch salt.
 * ARGV: pubsub channel, header, data, history size (0 = no history), history ttl s, meta expiry s,
 * a fresh salt (used once, when Redis has none), idempotency ttl s, channel, meta ttl s.
 * Returns {"<offset>:<epoch>", suppressed 0/1}.
 */
export const PUBLISH = DERIVED_EPOCH + `
if KEYS[3] ~= "" then
  local seen = redis.call("get", KEYS[3])
  if seen then return {seen, 1} end
end
local offset = 0
local epoch = ""
if tonumber(ARGV[4]) > 0 then
  local e = redis.call("hget", KEYS[2], "e")
  if not e then
    e = derived_epoch(KEYS[4], ARGV[7], ARGV[9], tonumber(ARGV[10]))
    redis.call("hset", KEYS[2], "e", e)
    redis.call("del", KEYS[1])
  end
  epoch = e
  offset = redis.call("hincrby", KEYS[2], "s", 1)
  redis.call("xadd", KEYS[1], "MAXLEN", ARGV[4], offset .. "-0", "h", ARGV[2], "d", ARGV[3])
  redis.call("expire", KEYS[1], ARGV[5])
  redis.call("expire", KEYS[2], ARGV[6])
end
redis.call("publish", ARGV[1], "p\\n" .. offset .. "\\n" .. epoch .. "\\n" .. ARGV[2] .. "\\n" .. ARGV[3])
local result = offset .. ":" .. epoch
if KEYS[3] ~= "" then redis.call("set", KEYS[3], result, "EX", ARGV[8]) end
return {result, 0}
`;

/**
 * KEYS: stream, meta, epoch salt. ARGV: a fresh salt, meta ttl s, limit (-1 all, 0 none), reverse
 * "1"/"0", since offset ("" for none), channel.
 * Returns {top offset, epoch, entries}. A channel without a stream gets no keys (but the salt).
 */
export const HISTORY = DERIVED_EPOCH + `
local e = redis.call("hget", KEYS[2], "e")
if not e then
  return {"0", derived_epoch(KEYS[3], ARGV[1], ARGV[6], tonumber(ARGV[2])), {}}
end
redis.call("expire", KEYS[2], ARGV[2])
local top = redis.call("hget", KEYS[2], "s") or "0"
local entries = {}
if ARGV[3] ~= "0" then
  local args
  if ARGV[4] == "1" then
    local from = "+"
    if ARGV[5] ~= "" and ARGV[5] ~= "0" then from = "(" .. ARGV[5] .. "-0" end
    args = {"xrevrange", KEYS[1], from, "-"}
  else
    local from = "-"
    if ARGV[5] ~= "" then from = "(" .. ARGV[5] .. "-0" end
    args = {"xrange", KEYS[1], from, "+"}
  end
  if ARGV[3] ~= "-1" then
    table.insert(args, "COUNT")
    table.insert(args, ARGV[3])
  end
  entries = redis.call(unpack(args))
end
return {top, e, entries}
`;

/** KEYS: presence hash, expiry zset. ARGV: client id, info JSON, expire at (ms), key ttl s. */
export const PRESENCE_ADD = `
redis.call("hset", KEYS[1], ARGV[1], ARGV[2])
redis.call("zadd", KEYS[2], ARGV[3], ARGV[1])
redis.call("expire", KEYS[1], ARGV[4])
redis.call("expire", KEYS[2], ARGV[4])
return 1
`;

/** KEYS: presence hash, expiry zset. ARGV: now (ms). Drops expired entries, returns the rest. */
export const PRESENCE_GET = `
local expired = redis.call("zrangebyscore", KEYS[2], "-inf", ARGV[1])
for _, id in ipairs(expired) do
  redis.call("hdel", KEYS[1], id)
  redis.call("zrem", KEYS[2], id)
end
return redis.call("hgetall", KEYS[1])
`;
