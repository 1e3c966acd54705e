package timers

import (
	"github.com/redis/go-redis/v9"

	"github.com/ketenbus/ketenbus/services/shared/projection"
)

// The write scripts start with projection.Lua: their KEYS and ARGV below
// follow the writer's (projection.Writer.Keys, Args), which the guard
// removes. A live write skipped for an event the timers hold already
// returns what the script returns when it changed nothing.

// luaLib holds the functions the scripts share. A value starts with the
// uvarint profile code and the flags byte, whose top two bits hold the
// level (3: uvarint level−3 follows).
const luaLib = `
local function uv(n)
  local s = ''
  while n >= 128 do
    s = s .. string.char(n % 128 + 128)
    n = math.floor(n / 128)
  end
  return s .. string.char(n)
end
local function rv(v, i)
  local n, m = 0, 1
  while true do
    local b = string.byte(v, i)
    if b == nil then return -1, i end
    i = i + 1
    if b < 128 then return n + b * m, i end
    n = n + (b - 128) * m
    m = m * 128
  end
end
local function level(v)
  local _, i = rv(v, 1)
  local f = string.byte(v, i)
  if f == nil then return -1 end
  local l = math.floor(f / 64)
  if l == 3 then l = 3 + rv(v, i + 1) end
  return l
end
local function bucket(prefix, id)
  return prefix .. 'd:' .. string.format('%02x%02x', string.byte(id, 1, 2))
end
-- A value longer than 64 bytes (hash-max-listpack-value) is kept in
-- chunks of 64: field f, then f..'\1', f..'\2', ... so that the bucket
-- stays a listpack.
local CHUNK = 64
local function get(b, f)
  local v = redis.call('HGET', b, f)
  if not v or #v < CHUNK then return v end
  local parts, j = {v}, 1
  while true do
    local c = redis.call('HGET', b, f .. string.char(j))
    if not c then break end
    parts[#parts + 1] = c
    if #c < CHUNK then break end
    j = j + 1
  end
  return table.concat(parts)
end
local function dropChunks(b, f, from)
  local j = from
  while redis.call('HDEL', b, f .. string.char(j)) == 1 do j = j + 1 end
end
local function put(b, f, v)
  local added = redis.call('HSET', b, f, string.sub(v, 1, CHUNK))
  local j, pos = 1, CHUNK + 1
  while pos <= #v do
    redis.call('HSET', b, f .. string.char(j), string.sub(v, pos, pos + CHUNK - 1))
    j, pos = j + 1, pos + CHUNK
  end
  -- A replaced value may have had more chunks.
  if added == 0 then dropChunks(b, f, j) end
end
local function del(b, f)
  local n = redis.call('HDEL', b, f)
  if n == 1 then dropChunks(b, f, 1) end
  return n
end
local function intern(pc, pt, p)
  local c = redis.call('HGET', pc, p)
  if c then return tonumber(c) end
  c = redis.call('HLEN', pt) + 1
  redis.call('HSET', pc, p, c)
  redis.call('HSET', pt, c, p)
  return c
end
-- read appends the timers of ids to out as id, value pairs, then the
-- profile texts of their codes as code, text pairs. With a lease (a
-- claim) it leases each timer and drops ids without data from the sorted
-- set. It returns the number of timers.
local function read(due, pt, prefix, ids, out, lease)
  local n, seen, codes = 0, {}, {}
  for _, id in ipairs(ids) do
    local v = get(bucket(prefix, id), string.sub(id, 3))
    if v then
      if lease then redis.call('ZADD', due, 'XX', lease, id) end
      out[#out + 1] = id
      out[#out + 1] = v
      n = n + 1
      local c = rv(v, 1)
      if not seen[c] then
        seen[c] = true
        codes[#codes + 1] = c
      end
    elseif lease then
      redis.call('ZREM', due, id)
    end
  end
  for _, c in ipairs(codes) do
    out[#out + 1] = c
    out[#out + 1] = redis.call('HGET', pt, c) or ''
  end
  return n
end
`

// scheduleScript stores timers. KEYS: due, profile:code, profile:text.
// ARGV: prefix, number of profiles P, P profiles, then per timer: raw id,
// score, profile index (1-based), packed rest. Returns the count.
var scheduleScript = redis.NewScript(projection.Lua + luaLib + `
local g = projectionGuard(0)
if g then return g end
local due, pc, pt, prefix = KEYS[1], KEYS[2], KEYS[3], ARGV[1]
local np = tonumber(ARGV[2])
local codes = {}
for i = 1, np do codes[i] = uv(intern(pc, pt, ARGV[2 + i])) end
local n = 0
for i = 3 + np, #ARGV, 4 do
  local id = ARGV[i]
  put(bucket(prefix, id), string.sub(id, 3), codes[tonumber(ARGV[i + 2])] .. ARGV[i + 3])
  redis.call('ZADD', due, ARGV[i + 1], id)
  n = n + 1
end
return n
`)

// claimScript takes due timers and leases them. KEYS: due, profile:text.
// ARGV: prefix, now (ms), max, lease end (ms). Returns
// {n, id, value, ..., code, text, ...}.
var claimScript = redis.NewScript(projection.Lua + luaLib + `
local g = projectionGuard({0})
if g then return g end
local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[2], 'BYSCORE', 'LIMIT', 0, ARGV[3])
local out = {0}
out[1] = read(KEYS[1], KEYS[2], ARGV[1], ids, out, ARGV[4])
return out
`)

// getScript reads timers without changing them. KEYS: due, profile:text.
// ARGV: prefix, raw ids. Same reply as claimScript.
var getScript = redis.NewScript(luaLib + `
local ids = {}
for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
local out = {0}
out[1] = read(KEYS[1], KEYS[2], ARGV[1], ids, out, nil)
return out
`)

// listScript reads a page in due order. KEYS: due, profile:text. ARGV:
// prefix, start rank, stop rank. Returns {members scanned, n, id, value,
// ..., code, text, ...}.
var listScript = redis.NewScript(luaLib + `
local ids = redis.call('ZRANGE', KEYS[1], ARGV[2], ARGV[3])
local out = {#ids, 0}
out[2] = read(KEYS[1], KEYS[2], ARGV[1], ids, out, nil)
return out
`)

// unchanged reports whether the stored value of field f in bucket b is
// exactly the claimed timer: profile text pp (looked up, never created)
// and packed rest pr. Any Schedule, Cancel, Advance or Finish since the
// claim changes it.
const luaUnchanged = `
local function unchanged(b, f, pc, pp, pr)
  local v = get(b, f)
  if not v then return false end
  local c = redis.call('HGET', pc, pp)
  if not c then return false end
  return v == uv(tonumber(c)) .. pr
end
`

// advanceScript replaces a timer if it is still exactly as it was
// claimed. KEYS: due, profile:code, profile:text. ARGV: prefix, raw id,
// claimed profile, claimed packed rest, score, profile, packed rest.
// Returns 1 if it did, else 0.
var advanceScript = redis.NewScript(projection.Lua + luaLib + luaUnchanged + `
local g = projectionGuard(0)
if g then return g end
local due, pc, pt, prefix, id = KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2]
local b, f = bucket(prefix, id), string.sub(id, 3)
if not unchanged(b, f, pc, ARGV[3], ARGV[4]) then return 0 end
put(b, f, uv(intern(pc, pt, ARGV[6])) .. ARGV[7])
redis.call('ZADD', due, ARGV[5], id)
return 1
`)

// finishScript deletes a timer if it is still exactly as it was claimed.
// KEYS: due, profile:code. ARGV: prefix, raw id, claimed profile, claimed
// packed rest. Returns 1 if it did, else 0.
var finishScript = redis.NewScript(projection.Lua + luaLib + luaUnchanged + `
local g = projectionGuard(0)
if g then return g end
local b, f = bucket(ARGV[1], ARGV[2]), string.sub(ARGV[2], 3)
if not unchanged(b, f, KEYS[2], ARGV[3], ARGV[4]) then return 0 end
del(b, f)
redis.call('ZREM', KEYS[1], ARGV[2])
return 1
`)

// cancelScript deletes a timer. KEYS: due. ARGV: prefix, raw id. Returns
// 1 if it existed, else 0.
var cancelScript = redis.NewScript(projection.Lua + luaLib + `
local g = projectionGuard(0)
if g then return g end
local h = del(bucket(ARGV[1], ARGV[2]), string.sub(ARGV[2], 3))
local z = redis.call('ZREM', KEYS[1], ARGV[2])
if h + z > 0 then return 1 end
return 0
`)

// rememberScript keeps a bevestiging that came before its event. KEYS:
// the key. ARGV: value, TTL in ms (0: none). Returns 1, or 0 when skipped.
var rememberScript = redis.NewScript(projection.Lua + `
local g = projectionGuard(0)
if g then return g end
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1
`)
