-- The Mission Locale of a dossier in the current generation of the dossier
-- index (lib/index_keys.h), for the editions service.
-- ARGV[1] the index key prefix ("aij:index:"), ARGV[2] the dossier id,
-- ARGV[3] its hash in 8 hex digits, then the names of the key layout:
-- ARGV[4] the key of the current generation ("aij:index:current"), ARGV[5]
-- the meta ("meta"), ARGV[6] its field of the bucket digits ("digits"),
-- ARGV[7] the table of the MLs ("ml"). Returns its ml_code, or nil.
local prefix, current = ARGV[1], ARGV[4]
local gen = redis.call('GET', current)
if not gen then
  return redis.error_reply('ERR no dossier index loaded (' .. current .. ' is missing)')
end
local base = prefix .. gen .. ':'
local digits = tonumber(redis.call('HGET', base .. ARGV[5], ARGV[6]))
return redis.call('HGET', base .. ARGV[7] .. ':' .. string.sub(ARGV[3], -digits), ARGV[2])
