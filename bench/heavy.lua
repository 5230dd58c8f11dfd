-- heavy.lua: a module that takes about 5 ms to load, as a real one with
-- much to set up does (bench/run.lua's pool_heavy row).
local x = 0
for i = 1, 400000 do x = x + i % 7 end
return { twice = function(v) return 2 * v end, built = x }
