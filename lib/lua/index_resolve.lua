-- The look-up cascade of SPEC §4 for a batch of records, read-only: the
-- three look-ups against the current generation of the dossier index
-- (lib/index_keys.h documents the key layout), and for the records that
-- fail, the values the evidence is built from (lib/evidence.h). Runs whole,
-- between two commands of a loader: a reload is seen entirely or not at all.
--
-- ARGV[1]  the index key prefix ("aij:index:")
-- ARGV[2]  the number of values per record (5)
-- ARGV[3]  the number of records n
-- ARGV[4]  "1": read the evidence of the records that fail; "0": not
-- ARGV[5]  the key of the current generation ("aij:index:current")
-- ARGV[6]  the meta ("meta"), ARGV[7] and ARGV[8] its fields of the bucket
--          digits and of the evidence ("digits", "near")
-- ARGV[9] to ARGV[14]  the tables pe1, pe2, ident, np, pd, nd (their names)
-- then, the last n * ARGV[2] arguments, per record: P (the numero PE, "" when none), its hash in 8 hex
-- digits, N(nom), the identity key "N(nom)|N(prenom)|date", the hashes of
-- the identity key and, with the evidence, of the blocking keys
-- "N(nom)|N(prenom)", "N(prenom)|date", "N(nom)|date" (8 hex digits each,
-- one after the other).
--
-- Returns per record {step, value} when a step integrated it (value: the
-- index's value, "<id>\t<N(nom)>\t<ml>" at steps 1-2, "<id>\t<ml>" at step
-- 3), else {0, code, code...}, one code per step tried, and with the
-- evidence, when a value was found for it, a last element {source, value,
-- source, value...}: source 1 and 2 the pe1 and pe2 values of a 02 or a 03,
-- 3 the ident value of a 04, 4, 5 and 6 the np, pd and nd values of a 05 at
-- step 3 (read only when the generation has them: meta near = 1). Written
-- for speed (Lua's string.format and closures cost more than the HGETs):
-- none in the loop.
--
-- Run it by hand: redis-cli --eval lib/lua/index_resolve.lua , \
--   aij:index: 5 1 0 aij:index:current meta digits near pe1 pe2 ident np pd nd \
--   PE01 <hash> DUPONT 'DUPONT|JEAN|01/02/2005' <hash>
local prefix, stride, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local evidence = ARGV[4] == '1'
local current = ARGV[5]
local head = #ARGV - n * stride -- the arguments before the records'
local call = redis.call
local gen = call('GET', current)
if not gen then
  return redis.error_reply('ERR no dossier index loaded (' .. current .. ' is missing)')
end
local base = prefix .. gen .. ':'
local meta = call('HMGET', base .. ARGV[6], ARGV[7], ARGV[8])
local digits = tonumber(meta[1])
if not digits then
  return redis.error_reply('ERR index generation ' .. gen .. ' has no meta')
end
local near = evidence and meta[2] == '1'
-- A field's bucket: the last hex digits of its hash.
local pe1, pe2, ident = base .. ARGV[9] .. ':', base .. ARGV[10] .. ':', base .. ARGV[11] .. ':'
local np, pd, nd = base .. ARGV[12] .. ':', base .. ARGV[13] .. ':', base .. ARGV[14] .. ':'
local sub, find, byte = string.sub, string.find, string.byte
local out = {}

-- Steps 1 and 2 (one of them): the numero P in hash h. A value is
-- "<id>\t<N(nom)>\t<ml>" for one dossier, "\t<count>..." for several.
-- Returns the value, or nil, the step's code and the value read.
local function by_pe(h, p, bucket, nom)
  local v = call('HGET', h .. bucket, p)
  if not v then return nil, 5 end
  local tab = find(v, '\t', 1, true)
  if tab == 1 then return nil, 2, v end
  -- (An index loaded before the ML was in the values ends after N(nom).)
  local after = byte(v, tab + #nom + 1)
  if sub(v, tab + 1, tab + #nom) ~= nom or (after and after ~= 9) then
    return nil, 3, v
  end
  return v
end

-- A near value that lists dossiers (not "\t<count>": too many), or nil.
local function listed(t, hashes, from, key)
  local v = call('HGET', t .. sub(hashes, from + 8 - digits, from + 7), key)
  if v and byte(v, 1) ~= 9 then return v end
  return nil
end

for i = 1, n do
  local a = head + (i - 1) * stride
  local p, nom = ARGV[a + 1], ARGV[a + 3]
  local c1, c2, c3, v, v1, v2
  if p ~= '' then
    local bucket = sub(ARGV[a + 2], -digits)
    v, c1, v1 = by_pe(pe1, p, bucket, nom)
    if v then out[i] = { 1, v } else
      v, c2, v2 = by_pe(pe2, p, bucket, nom)
      if v then out[i] = { 2, v } end
    end
  end
  -- Step 3: "<id>\t<ml>", or "\t<count>..." for several.
  if not v then
    local key, hashes = ARGV[a + 4], ARGV[a + 5]
    v = call('HGET', ident .. sub(hashes, 9 - digits, 8), key)
    if not v then c3 = 5
    elseif byte(v, 1) == 9 then c3 = 4
    else out[i] = { 3, v } end
    if not out[i] then
      local r
      if c1 then r = { 0, c1, c2, c3 } else r = { 0, c3 } end
      if evidence then
        local ev = {}
        if v1 then ev[#ev + 1] = 1; ev[#ev + 1] = v1 end
        if v2 then ev[#ev + 1] = 2; ev[#ev + 1] = v2 end
        if c3 == 4 then ev[#ev + 1] = 3; ev[#ev + 1] = v end
        if c3 == 5 and near then
          -- "NOM|PRENOM|DATE": the keys that share two of the three.
          local bar1 = find(key, '|', 1, true)
          local bar2 = bar1 and find(key, '|', bar1 + 1, true)
          if bar2 then
            local x = listed(np, hashes, 9, sub(key, 1, bar2 - 1))
            if x then ev[#ev + 1] = 4; ev[#ev + 1] = x end
            x = listed(pd, hashes, 17, sub(key, bar1 + 1))
            if x then ev[#ev + 1] = 5; ev[#ev + 1] = x end
            x = listed(nd, hashes, 25, sub(key, 1, bar1) .. sub(key, bar2 + 1))
            if x then ev[#ev + 1] = 6; ev[#ev + 1] = x end
          end
        end
        if ev[1] then r[#r + 1] = ev end
      end
      out[i] = r
    end
  end
end
return out
