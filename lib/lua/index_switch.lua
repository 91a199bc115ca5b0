-- Makes a new generation of the dossier index current (lib/index_keys.h),
-- unless a newer one already is: two loaders racing never step back.
-- KEYS[1] the key of the current generation (aij:index:current), ARGV[1]
-- the new generation. Returns 1 when switched, 0 when a newer one is current.
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return 0
