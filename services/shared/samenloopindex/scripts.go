package samenloopindex

import (
	"github.com/redis/go-redis/v9"

	"github.com/ketenbus/ketenbus/services/shared/projection"
)

// prelude is shared by every script. It starts with projection.Lua: the
// KEYS and ARGV named below follow the writer's (projection.Writer.Keys,
// Args), which the guard removes; the scripts call the guard first.
// ARGV[1..3] are always the prefix, now and the window (both in Unix ms).
const prelude = projection.Lua + `
local prefix, now, window = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local expired = 0

local function bucketKey(f)
  return prefix .. 's:' .. string.format('%02x%02x', f:byte(1), f:byte(2))
end

local function parse(f, v)
  local p, at, seq, others = string.match(v, '^([^%z]*)%z([^%z]*)%z([^%z]*)%z(.*)$')
  if p == nil then
    return nil
  end
  return {field = f, partner = p, at = tonumber(at), atText = at, seq = seq, others = others}
end

local function byTime(a, b)
  if a.at ~= b.at then
    return a.at < b.at
  end
  if a.seq ~= b.seq then
    return tonumber(a.seq) < tonumber(b.seq)
  end
  return a.field < b.field
end

-- load returns a person's live signalen, oldest first, and its samenloop
-- partners; signalen whose window passed are deleted on the way.
local function load(x)
  local all = redis.call('HGETALL', x)
  local recs, members = {}, {}
  for i = 1, #all, 2 do
    local f, v = all[i], all[i + 1]
    if f == 'm' then
      for p in string.gmatch(v, '[^,]+') do
        members[#members + 1] = p
      end
    else
      local r = parse(f, v)
      if r == nil or r.at + window <= now then
        redis.call('HDEL', x, f)
        redis.call('HDEL', bucketKey(f), string.sub(f, 3))
        expired = expired + 1
      else
        recs[#recs + 1] = r
      end
    end
  end
  table.sort(recs, byTime)
  return recs, members
end

-- find returns the index in recs of the signaal of field, or nil.
local function find(recs, field)
  local at
  for i, r in ipairs(recs) do
    if r.field == field then
      at = i
    end
  end
  return at
end

-- settle stores the samenloop partners and the due time recs imply: a
-- partner without live signalen leaves, fewer than two end the samenloop,
-- no signalen delete the person. The set 'samen' holds the persons with a
-- samenloop of two or more partners. The partners are stored in the order of
-- their first live signaal, whatever order they joined in.
local function settle(x, person, recs, members)
  local inside = {}
  for _, p in ipairs(members) do
    inside[p] = true
  end
  local order, seen = {}, {}
  for _, r in ipairs(recs) do
    if not seen[r.partner] then
      seen[r.partner] = true
      order[#order + 1] = r.partner
    end
  end
  local m = {}
  if #order >= 2 then
    for _, p in ipairs(order) do
      if inside[p] then
        m[#m + 1] = p
      end
    end
  end
  if #m >= 2 then
    redis.call('SADD', prefix .. 'samen', person)
  else
    redis.call('SREM', prefix .. 'samen', person)
  end
  if #recs == 0 then
    redis.call('DEL', x)
    redis.call('ZREM', prefix .. 'due', person)
    return
  end
  if #m > 0 then
    redis.call('HSET', x, 'm', table.concat(m, ','))
  else
    redis.call('HDEL', x, 'm')
  end
  redis.call('ZADD', prefix .. 'due', recs[1].at + window, person)
end
`

// addScript records a signaal. KEYS: person hash, bucket, gone key.
// ARGV[4..]: person, key (16 bytes), partner, at, seq, regievoerder.
// Reply: joined partner, the partners it joined, then (key, partner, at,
// seq) of every live signaal of those partners, oldest first.
var addScript = redis.NewScript(prelude + `
local g = projectionGuard({'', ''})
if g then return g end
local x, bucket, gone = KEYS[1], KEYS[2], KEYS[3]
local person, field, partner, at, seq, regie = ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8], ARGV[9]
local recs, members = load(x)
local i = find(recs, field)
local rec = i and recs[i]
if rec == nil then
  local by = redis.call('GET', gone)
  if by and (by == partner or by == regie) then
    redis.call('DEL', gone)
    settle(x, person, recs, members)
    return {'', ''}
  end
  if at + window <= now then
    settle(x, person, recs, members)
    return {'', ''}
  end
  local inside = {}
  for _, p in ipairs(members) do
    inside[p] = true
  end
  -- The partners joined: every other partner with a live signaal, in the
  -- order of their first one.
  local others = {}
  if not inside[partner] then
    local seen = {[partner] = true}
    for _, r in ipairs(recs) do
      if not seen[r.partner] then
        seen[r.partner] = true
        others[#others + 1] = r.partner
      end
    end
  end
  rec = {field = field, partner = partner, at = at, atText = ARGV[7], seq = seq, others = table.concat(others, ',')}
  redis.call('HSET', x, field, partner .. '\0' .. ARGV[7] .. '\0' .. seq .. '\0' .. rec.others)
  redis.call('HSET', bucket, string.sub(field, 3), person)
  recs[#recs + 1] = rec
  table.sort(recs, byTime)
  if #others > 0 then
    members = {}
    for _, p in ipairs(others) do
      members[#members + 1] = p
    end
    members[#members + 1] = partner
  end
  settle(x, person, recs, members)
elseif expired > 0 then
  settle(x, person, recs, members)
end
if rec.others == '' then
  return {'', ''}
end
local involved = {[rec.partner] = true}
for p in string.gmatch(rec.others, '[^,]+') do
  involved[p] = true
end
local reply = {rec.partner, rec.others}
for _, r in ipairs(recs) do
  if involved[r.partner] then
    reply[#reply + 1] = r.field
    reply[#reply + 1] = r.partner
    reply[#reply + 1] = r.atText
    reply[#reply + 1] = r.seq
  end
end
return reply
`)

// removeScript drops a signaal early. KEYS: bucket, gone key. ARGV[4..]:
// key (16 bytes), by, regievoerder, gone TTL (ms). Reply: 1 removed, 0
// not in the index (remembered when never seen), -1 not allowed.
var removeScript = redis.NewScript(prelude + `
local g = projectionGuard(0)
if g then return g end
local bucket, gone = KEYS[1], KEYS[2]
local field, by, regie, ttl = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local person = redis.call('HGET', bucket, string.sub(field, 3))
if not person then
  redis.call('SET', gone, by, 'PX', ttl)
  return 0
end
local x = prefix .. 'x:' .. person
local recs, members = load(x)
local at = find(recs, field)
local result = 0
if at == nil then
  redis.call('HDEL', bucket, string.sub(field, 3))
elseif recs[at].partner ~= by and by ~= regie then
  result = -1
else
  redis.call('HDEL', x, field)
  redis.call('HDEL', bucket, string.sub(field, 3))
  table.remove(recs, at)
  result = 1
end
if result == 1 or expired > 0 then
  settle(x, person, recs, members)
end
return result
`)

// expireScript drops the signalen whose window passed, for at most
// ARGV[4] persons due. KEYS: due. Reply: persons visited, signalen
// dropped.
var expireScript = redis.NewScript(prelude + `
local g = projectionGuard({0, 0})
if g then return g end
local persons = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
for _, person in ipairs(persons) do
  local x = prefix .. 'x:' .. person
  local recs, members = load(x)
  settle(x, person, recs, members)
end
return {#persons, expired}
`)
