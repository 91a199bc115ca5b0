-- The Mission Locale of a dossier in the current generation of the dossier
-- index (lib/index_keys.h), for the editions service.
-- ARGV[1] the index key prefix ("aij:index:"), ARGV[2] the dossier id,
-- ARGV[3] its hash in 8 hex digits. Returns its ml_code, or nil.
local prefix = ARGV[1]
local gen = redis.call('GET', prefix .. 'current')
if not gen then
  return redis.error_reply('ERR no dossier index loaded (' .. prefix .. 'current is missing)')
end
local base = prefix .. gen .. ':'
local digits = tonumber(redis.call('HGET', base .. 'meta', 'digits'))
return redis.call('HGET', base .. 'ml:' .. string.sub(ARGV[3], -digits), ARGV[2])
