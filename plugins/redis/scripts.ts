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
 * KEYS: stream, meta, idempotency key ("" for none).
 * ARGV: pubsub channel, header, data, history size (0 = no history), history ttl s, meta ttl s,
 * epoch for a new stream, idempotency ttl s.
 * Returns {"<offset>:<epoch>", suppressed 0/1}.
 */
export const PUBLISH = `
if KEYS[3] ~= "" then
  local seen = redis.call("get", KEYS[3])
  if seen then return {seen, 1} end
end
local offset = 0
local epoch = ""
if tonumber(ARGV[4]) > 0 then
  local e = redis.call("hget", KEYS[2], "e")
  if not e then
    e = ARGV[7]
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
 * KEYS: stream, meta. ARGV: epoch for a new stream, meta ttl s, limit (-1 all, 0 none), reverse
 * "1"/"0", since offset ("" for none).
 * Returns {top offset, epoch, entries}.
 */
export const HISTORY = `
local e = redis.call("hget", KEYS[2], "e")
if not e then
  e = ARGV[1]
  redis.call("hset", KEYS[2], "e", e)
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
