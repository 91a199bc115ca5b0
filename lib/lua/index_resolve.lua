-- The look-up cascade of SPEC §4 for a batch of records, read-only: the
-- three look-ups against the current generation of the dossier index
-- (lib/dossier_index.h documents the key layout). Runs whole, between two
-- commands of a loader: a reload is seen entirely or not at all.
--
-- ARGV[1]  the index key prefix ("aij:index:")
-- ARGV[2]  the number of values per record (5)
-- ARGV[3]  the number of records n
-- then per record: P (the numero PE, "" when none), its hash in 8 hex
-- digits, N(nom), the identity key "N(nom)|N(prenom)|date", its hash.
--
-- Returns per record {step, value} when a step integrated it (value: the
-- index's value, "<id>\t<N(nom)>\t<ml>" at steps 1-2, "<id>\t<ml>" at step
-- 3), else {0, code, code...}, one code per step tried. Written for speed
-- (Lua's string.format and closures cost more than the HGETs): none in the
-- loop.
--
-- Run it by hand: redis-cli --eval lib/lua/index_resolve.lua , \
--   aij:index: 5 1 PE01 <hash> DUPONT 'DUPONT|JEAN|01/02/2005' <hash>
local prefix, stride, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local call = redis.call
local gen = call('GET', prefix .. 'current')
if not gen then
  return redis.error_reply('ERR no dossier index loaded (' .. prefix .. 'current is missing)')
end
local base = prefix .. gen .. ':'
local digits = tonumber(call('HGET', base .. 'meta', 'digits'))
if not digits then
  return redis.error_reply('ERR index generation ' .. gen .. ' has no meta')
end
-- A field's bucket: the last hex digits of its hash.
local pe1, pe2, ident = base .. 'pe1:', base .. 'pe2:', base .. 'ident:'
local sub, find, byte = string.sub, string.find, string.byte
local out = {}

-- Steps 1 and 2 (one of them): the numero P in hash h. A value is
-- "<id>\t<N(nom)>\t<ml>" for one dossier, "\t<count>" for several.
-- Returns the value, or nil and the step's code.
local function by_pe(h, p, bucket, nom)
  local v = call('HGET', h .. bucket, p)
  if not v then return nil, 5 end
  local tab = find(v, '\t', 1, true)
  if tab == 1 then return nil, 2 end
  -- (An index loaded before the ML was in the values ends after N(nom).)
  local after = byte(v, tab + #nom + 1)
  if sub(v, tab + 1, tab + #nom) ~= nom or (after and after ~= 9) then
    return nil, 3
  end
  return v
end

for i = 1, n do
  local a = 3 + (i - 1) * stride
  local p, nom = ARGV[a + 1], ARGV[a + 3]
  local c1, c2, c3, v
  if p ~= '' then
    local bucket = sub(ARGV[a + 2], -digits)
    v, c1 = by_pe(pe1, p, bucket, nom)
    if v then out[i] = { 1, v } else
      v, c2 = by_pe(pe2, p, bucket, nom)
      if v then out[i] = { 2, v } end
    end
  end
  -- Step 3: "<id>\t<ml>", or "\t<count>" for several.
  if not v then
    v = call('HGET', ident .. sub(ARGV[a + 5], -digits), ARGV[a + 4])
    if not v then c3 = 5
    elseif byte(v, 1) == 9 then c3 = 4
    else out[i] = { 3, v } end
    if not out[i] then
      if c1 then out[i] = { 0, c1, c2, c3 } else out[i] = { 0, c3 } end
    end
  end
end
return out
